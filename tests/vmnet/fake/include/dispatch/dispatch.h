/*
 * TEST DOUBLE — the contract fake of Apple's libdispatch, the one test double of squib-netd
 * (design brief §6). Linux only; never built on macOS, where the real <dispatch/dispatch.h>
 * is used. It declares exactly the calls lib/squib/backend/vmnet/ makes, with Apple's names
 * and argument order, so that the backend source compiles unchanged against it.
 *
 * Semaphores and dispatch_time are deliberately absent: the backend must never wait for
 * vmnet on the loop thread, and a semaphore wait would not compile here.
 *
 * Semantics kept from libdispatch (Apple, dispatch/queue.h):
 * - a serial queue runs its blocks one at a time, in FIFO order, on a thread that is not the
 *   caller's; blocks are Block_copy()d when submitted;
 * - a queue stays alive while it has pending blocks, even after the last dispatch_release().
 */
#ifndef SQUIB_FAKE_DISPATCH_DISPATCH_H
#define SQUIB_FAKE_DISPATCH_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__BLOCKS__)
#error "the fake libdispatch needs clang -fblocks (and -lBlocksRuntime)"
#endif

typedef struct fake_dispatch_queue* dispatch_queue_t;
typedef struct fake_dispatch_queue_attr* dispatch_queue_attr_t;
typedef void (^dispatch_block_t)(void);

#define DISPATCH_QUEUE_SERIAL NULL /* as Apple */
#ifndef NSEC_PER_SEC
#define NSEC_PER_SEC 1000000000ull
#endif
#ifndef NSEC_PER_MSEC
#define NSEC_PER_MSEC 1000000ull
#endif
#ifndef NSEC_PER_USEC
#define NSEC_PER_USEC 1000ull
#endif

dispatch_queue_t dispatch_queue_create(const char* label, dispatch_queue_attr_t attr);
void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
/* Real libdispatch takes a dispatch_object_t; any dispatch object pointer converts here. */
void dispatch_retain(void* object);
void dispatch_release(void* object);

#ifdef __cplusplus
}
#endif

#endif
