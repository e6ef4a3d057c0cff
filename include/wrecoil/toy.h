/*
 * wrecoil/toy.h -- wr_toy: built-in W and Z toy simulation.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_TOY_H
#define WRECOIL_TOY_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/toy.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_TOY_H */
