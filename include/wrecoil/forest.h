/*
 * wrecoil/forest.h -- wr_quantile_forest: multi-quantile gradient-boosted trees.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_FOREST_H
#define WRECOIL_FOREST_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/forest.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_FOREST_H */
