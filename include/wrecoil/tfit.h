/*
 * wrecoil/tfit.h -- wr_template_fit: binned template fits of m_W.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_TFIT_H
#define WRECOIL_TFIT_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/tfit.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_TFIT_H */
