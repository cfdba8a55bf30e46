/*
 * TEST DOUBLE — contract fake of libdispatch serial queues and semaphores (the one test
 * double of squib-netd, design brief §6; see include/dispatch/dispatch.h for the contract).
 * Each queue is one pthread draining a FIFO of Block_copy()d blocks under a mutex and a
 * condition variable, so handlers run on a thread that is not the caller's, as with dispatch.
 */
#define _GNU_SOURCE
#include <dispatch/dispatch.h>

#include <Block.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_vmnet_control.h"

enum object_kind { kind_queue = 1, kind_semaphore = 2 };

struct item {
  dispatch_block_t block;
  struct item* next;
};

struct fake_dispatch_queue {
  int kind;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  struct item* head;
  struct item* tail;
  int refs;
  char label[64];
};

struct fake_dispatch_semaphore {
  int kind;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  long value;
  int refs;
};

/* Blocks submitted and not yet finished, across all queues: what wait_idle waits for. */
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static long g_busy = 0;

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static struct timespec to_timespec(uint64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / NSEC_PER_SEC), .tv_nsec = (long)(ns % NSEC_PER_SEC)};
  return ts;
}

static void init_monotonic_cond(pthread_cond_t* cond) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(cond, &attr);
  pthread_condattr_destroy(&attr);
}

static void* queue_main(void* arg) {
  struct fake_dispatch_queue* queue = arg;
  pthread_mutex_lock(&queue->mutex);
  for (;;) {
    while (queue->head == NULL && queue->refs > 0) pthread_cond_wait(&queue->cond, &queue->mutex);
    if (queue->head == NULL) break; /* released and drained */
    struct item* item = queue->head;
    queue->head = item->next;
    if (queue->head == NULL) queue->tail = NULL;
    pthread_mutex_unlock(&queue->mutex);

    item->block();
    Block_release(item->block);
    free(item);

    pthread_mutex_lock(&g_mutex);
    --g_busy;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_mutex);
    pthread_mutex_lock(&queue->mutex);
  }
  pthread_mutex_unlock(&queue->mutex);
  pthread_mutex_destroy(&queue->mutex);
  pthread_cond_destroy(&queue->cond);
  free(queue);
  return NULL;
}

dispatch_queue_t dispatch_queue_create(const char* label, dispatch_queue_attr_t attr) {
  (void)attr; /* serial only */
  struct fake_dispatch_queue* queue = calloc(1, sizeof(*queue));
  if (queue == NULL) abort();
  queue->kind = kind_queue;
  queue->refs = 1;
  pthread_mutex_init(&queue->mutex, NULL);
  pthread_cond_init(&queue->cond, NULL);
  if (label != NULL) strncpy(queue->label, label, sizeof(queue->label) - 1);
  pthread_t thread;
  if (pthread_create(&thread, NULL, queue_main, queue) != 0) abort();
  pthread_detach(thread);
  return queue;
}

void dispatch_async(dispatch_queue_t queue, dispatch_block_t block) {
  struct item* item = calloc(1, sizeof(*item));
  if (item == NULL) abort();
  item->block = Block_copy(block);
  pthread_mutex_lock(&g_mutex);
  ++g_busy;
  pthread_mutex_unlock(&g_mutex);
  pthread_mutex_lock(&queue->mutex);
  if (queue->tail != NULL) {
    queue->tail->next = item;
  } else {
    queue->head = item;
  }
  queue->tail = item;
  pthread_cond_signal(&queue->cond);
  pthread_mutex_unlock(&queue->mutex);
}

void dispatch_retain(void* object) {
  int kind = *(int*)object;
  if (kind == kind_queue) {
    struct fake_dispatch_queue* queue = object;
    pthread_mutex_lock(&queue->mutex);
    ++queue->refs;
    pthread_mutex_unlock(&queue->mutex);
  } else if (kind == kind_semaphore) {
    struct fake_dispatch_semaphore* semaphore = object;
    pthread_mutex_lock(&semaphore->mutex);
    ++semaphore->refs;
    pthread_mutex_unlock(&semaphore->mutex);
  } else {
    abort();
  }
}

void dispatch_release(void* object) {
  int kind = *(int*)object;
  if (kind == kind_queue) {
    struct fake_dispatch_queue* queue = object;
    pthread_mutex_lock(&queue->mutex);
    if (--queue->refs == 0) pthread_cond_signal(&queue->cond); /* the thread frees it */
    pthread_mutex_unlock(&queue->mutex);
  } else if (kind == kind_semaphore) {
    struct fake_dispatch_semaphore* semaphore = object;
    pthread_mutex_lock(&semaphore->mutex);
    int refs = --semaphore->refs;
    pthread_mutex_unlock(&semaphore->mutex);
    if (refs == 0) {
      pthread_mutex_destroy(&semaphore->mutex);
      pthread_cond_destroy(&semaphore->cond);
      free(semaphore);
    }
  } else {
    abort();
  }
}

dispatch_semaphore_t dispatch_semaphore_create(long value) {
  if (value < 0) return NULL; /* as libdispatch */
  struct fake_dispatch_semaphore* semaphore = calloc(1, sizeof(*semaphore));
  if (semaphore == NULL) abort();
  semaphore->kind = kind_semaphore;
  semaphore->value = value;
  semaphore->refs = 1;
  pthread_mutex_init(&semaphore->mutex, NULL);
  init_monotonic_cond(&semaphore->cond);
  return semaphore;
}

long dispatch_semaphore_signal(dispatch_semaphore_t semaphore) {
  pthread_mutex_lock(&semaphore->mutex);
  ++semaphore->value;
  pthread_cond_signal(&semaphore->cond);
  pthread_mutex_unlock(&semaphore->mutex);
  return 0;
}

long dispatch_semaphore_wait(dispatch_semaphore_t semaphore, dispatch_time_t timeout) {
  struct timespec deadline = to_timespec(timeout);
  long result = 0;
  pthread_mutex_lock(&semaphore->mutex);
  while (semaphore->value <= 0) {
    if (timeout == DISPATCH_TIME_FOREVER) {
      pthread_cond_wait(&semaphore->cond, &semaphore->mutex);
    } else if (pthread_cond_timedwait(&semaphore->cond, &semaphore->mutex, &deadline) == ETIMEDOUT) {
      if (semaphore->value > 0) break;
      result = 1; /* KERN_OPERATION_TIMED_OUT in libdispatch: any non-zero */
      break;
    }
  }
  if (result == 0) --semaphore->value;
  pthread_mutex_unlock(&semaphore->mutex);
  return result;
}

dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta) {
  if (when == DISPATCH_TIME_FOREVER) return DISPATCH_TIME_FOREVER;
  uint64_t base = when == DISPATCH_TIME_NOW ? monotonic_ns() : when;
  return delta < 0 ? base - (uint64_t)(-delta) : base + (uint64_t)delta;
}

bool fake_dispatch_wait_idle(int timeout_ms) {
  pthread_cond_t* cond = &g_cond;
  uint64_t deadline = monotonic_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
  bool idle = true;
  pthread_mutex_lock(&g_mutex);
  while (g_busy > 0) {
    /* g_cond uses the realtime clock (static initialiser): poll in short slices instead. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec += 5 * (long)NSEC_PER_MSEC;
    if (now.tv_nsec >= (long)NSEC_PER_SEC) {
      now.tv_sec += 1;
      now.tv_nsec -= (long)NSEC_PER_SEC;
    }
    pthread_cond_timedwait(cond, &g_mutex, &now);
    if (g_busy > 0 && monotonic_ns() >= deadline) {
      idle = false;
      break;
    }
  }
  pthread_mutex_unlock(&g_mutex);
  return idle;
}
