/*
 * wrecoil/regressor.h -- wr_regressor: semi-parametric MLP regression.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_REGRESSOR_H
#define WRECOIL_REGRESSOR_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/regressor.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_REGRESSOR_H */
