/*
 * wrecoil/events.h -- Event model: features, kinematics, toy simulation, tables.
 * Part of the public API; include <wrecoil.h>, not this file.
 */
#ifndef WRECOIL_EVENTS_H
#define WRECOIL_EVENTS_H
#ifndef WRECOIL_H
#error "include <wrecoil.h> instead of <wrecoil/events.h>"
#endif
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* WRECOIL_EVENTS_H */
