/* Intrusive doubly linked lists. */
#ifndef KEEL_LIST_H
#define KEEL_LIST_H

#include <keel/types.h>

struct list_head {
    struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }

static inline void list_init(struct list_head *h) { h->next = h->prev = h; }
static inline bool list_empty(const struct list_head *h) { return h->next == h; }

static inline void list_insert(struct list_head *e, struct list_head *prev, struct list_head *next)
{
    next->prev = e;
    e->next = next;
    e->prev = prev;
    prev->next = e;
}

static inline void list_add(struct list_head *e, struct list_head *h) { list_insert(e, h, h->next); }
static inline void list_add_tail(struct list_head *e, struct list_head *h) { list_insert(e, h->prev, h); }

static inline void list_del(struct list_head *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->next = e->prev = e;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_for_each(pos, head) for (struct list_head *pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_safe(pos, n, head)                                                                               \
    for (struct list_head *pos = (head)->next, *n = pos->next; pos != (head); pos = n, n = pos->next)

#endif
