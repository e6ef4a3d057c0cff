/*
 * wrecoil/morph.h -- wr_morpher: k-conditional quantile morphing.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_MORPH_H
#define WRECOIL_MORPH_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/morph.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_MORPH_H */
