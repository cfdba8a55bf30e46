/*
 * TEST DOUBLE — contract fake of libdispatch serial queues (the one test double of
 * squib-netd, design brief §6; see include/dispatch/dispatch.h for the contract).
 * Each queue is one pthread draining a FIFO of Block_copy()d blocks under a mutex and a
 * condition variable, so handlers run on a thread that is not the caller's, as with dispatch.
 */
#define _GNU_SOURCE
#include <dispatch/dispatch.h>

#include <Block.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_vmnet_control.h"

enum object_kind { kind_queue = 1 };

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

/* Blocks submitted and not yet finished, across all queues: what wait_idle waits for. */
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static long g_busy = 0;

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
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
  } else {
    abort();
  }
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
