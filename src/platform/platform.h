/*
** platform.h -- the thin platform layer: virtual memory, fault handling,
** clocks and entropy. The only place in krait where #if may appear.
*/
#ifndef KP_PLATFORM_H
#define KP_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Reserves n bytes of inaccessible address space; NULL on failure. */
void *kp_reserve(size_t n);
/* Makes [p, p+n) readable and writable (zero-filled on first touch). */
bool kp_commit(void *p, size_t n);
/* Drops the pages of [p, p + n) (reading as zero again) and makes the
** range inaccessible, as kp_reserve left it. False on failure. */
bool kp_decommit(void *p, size_t n);
/* Maps [0, n) of image fd read-only and shared (to copy pages back
** from); NULL on failure. */
const uint8_t *kp_view_image(size_t n, int fd);
/* Releases a reservation made by kp_reserve. */
void kp_release(void *p, size_t n);
/* Resizes an explicit-mode mapping (may move); NULL on failure. */
void *kp_remap(void *p, size_t old_n, size_t new_n);
/* Maps n zeroed, accessible bytes; NULL on failure. */
void *kp_map(size_t n);
/* An anonymous in-memory file of n bytes (reads as zeros until written),
** for snapshot images; -1 on failure (errno set). */
int kp_image_new(size_t n);
/* Maps [0, n) of image fd copy-on-write at p, replacing what was there:
** reads see the image, writes go to private pages. False on failure. */
bool kp_map_image(void *p, size_t n, int fd);

/* Sets in bits (one per 4 KiB page of [p, p + n), p page-aligned) the
** pages of a private file mapping this process has written (they became
** anonymous copies, perhaps swapped out). false when that cannot be read
** (no pagemap). */
bool kp_written_pages(const void *p, size_t n, uint64_t *bits);

/* Faults [p, p + n) in writable at once (private copies made), instead of
** one write fault -- and, after a read, one TLB shootdown -- per page.
** false when the kernel cannot (before Linux 5.14); nothing is lost. */
bool kp_populate_write(void *p, size_t n);

/* The fault-to-trap bridge. While a thread runs guest code it registers a
** region; a SIGSEGV/SIGBUS inside it calls the handler, which longjmps to
** the catch point when the address is a guest memory fault and returns
** otherwise (the signal is then re-raised with the old disposition). Installed once per process. */
/* regs holds the faulting thread's general-purpose registers (nregs of
** them, possibly 0), so the handler can recover interpreter state; pc is
** the faulting instruction's address (0 where unknown), which locates a
** fault in native (AOT) code. */
typedef void (*kp_fault_fn)(void *ctx, void *addr, const uintptr_t *regs, int nregs, uintptr_t pc);
bool kp_fault_install(void);
/* Sets (or clears with ctx NULL) this thread's guarded region. */
void kp_fault_region(void *lo, void *hi, kp_fault_fn fn, void *ctx);

/* Monotonic and realtime clocks in nanoseconds, CPU time of process and
** thread, and their resolutions. */
uint64_t kp_monotonic_ns(void);
uint64_t kp_realtime_ns(void);
uint64_t kp_process_cpu_ns(void);
uint64_t kp_thread_cpu_ns(void);
/* Fills buf with n bytes of OS entropy; false on failure. */
bool kp_random(void *buf, size_t n);

/* The lowest address of this thread's native stack that guest code
** compiled to native code may use (the stack's end plus a margin for
** host calls and signal handling); computed once per thread. */
uintptr_t kp_stack_limit(void);
/* True on hosts with 64-bit pointers (guard-page memories possible). */
bool kp_is_64bit(void);

#endif
