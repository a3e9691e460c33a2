/* hashpipe.c — the digests of an upload off the receiving thread: data is copied into a ring of
 * a few fixed slots; each full slot is written to the store on the caller's thread while one
 * thread per digest (md5, sha512) hashes it, so the two digests and the write run side by side
 * in constant memory. The threads live no longer than the pipe: img_hashpipe_end joins them. */
#include "image/upload.h"
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_SIZE (1u << 20)          /* one slot: what is written and hashed at a time */
#define SLOTS 4                       /* the ring: SLOTS x SLOT_SIZE of memory per upload */
#define MAX_WORKERS 2
#define WORKER_STACK (256u << 10)

struct worker {
	struct img_hashpipe *p;
	EVP_MD_CTX *ctx;
	pthread_t thread;
	uint64_t done;                /* slots hashed (under p->lock) */
};

struct img_hashpipe {
	pthread_mutex_t lock;
	pthread_cond_t data;          /* a slot was handed over, or the pipe is ending */
	pthread_cond_t space;         /* a worker finished a slot */
	uint64_t filled;              /* slots handed over (under lock) */
	bool closing;                 /* no more slots: the workers finish and return */
	bool stop;                    /* the workers return at once */
	size_t used;                  /* bytes in the slot being filled (the caller's only) */
	size_t len[SLOTS];            /* bytes in each handed-over slot */
	int nworkers;
	struct worker workers[MAX_WORKERS];
	unsigned char *buf;           /* SLOTS x SLOT_SIZE */
};

static void *worker_main(void *arg)
{
	struct worker *k = arg;
	struct img_hashpipe *p = k->p;
	pthread_setname_np(pthread_self(), "img-hash");
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && !p->closing && k->done == p->filled)
			pthread_cond_wait(&p->data, &p->lock);
		if (p->stop || k->done == p->filled)
			break;
		size_t slot = (size_t)(k->done % SLOTS);
		size_t len = p->len[slot];
		pthread_mutex_unlock(&p->lock);
		EVP_DigestUpdate(k->ctx, p->buf + slot * SLOT_SIZE, len);
		pthread_mutex_lock(&p->lock);
		k->done++;
		pthread_cond_signal(&p->space);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Stops (stop) or drains the workers, joins them, and frees p. */
static void pipe_end(struct img_hashpipe *p, bool stop)
{
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	p->stop = stop;
	pthread_cond_broadcast(&p->data);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i].thread, NULL);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->data);
	pthread_mutex_destroy(&p->lock);
	free(p->buf);
	free(p);
}

struct img_hashpipe *img_hashpipe_new(EVP_MD_CTX *const *ctx, int n)
{
	if (n < 1 || n > MAX_WORKERS)
		return NULL;
	struct img_hashpipe *p = xcalloc(1, sizeof *p);
	p->buf = xmalloc((size_t)SLOTS * SLOT_SIZE);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->data, NULL);
	pthread_cond_init(&p->space, NULL);
	pthread_attr_t attr;
	bool ok = pthread_attr_init(&attr) == 0;
	if (ok) {
		pthread_attr_setstacksize(&attr, WORKER_STACK);
		for (int i = 0; ok && i < n; i++) {
			struct worker *k = &p->workers[i];
			k->p = p;
			k->ctx = ctx[i];
			ok = pthread_create(&k->thread, &attr, worker_main, k) == 0;
			p->nworkers += ok;
		}
		pthread_attr_destroy(&attr);
	}
	if (!ok) {                        /* no threads to be had: the caller hashes itself */
		pipe_end(p, true);
		return NULL;
	}
	return p;
}

/* True when every worker is done with the slot the caller fills next. */
static bool slot_free(struct img_hashpipe *p)
{
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].done + SLOTS <= p->filled)
			return false;
	return true;
}

/* Hands the slot being filled to the workers, writes it to w, and waits until the next slot
 * is free. */
static int hand_over(struct img_hashpipe *p, struct img_writer *w)
{
	size_t slot = (size_t)(p->filled % SLOTS);
	size_t len = p->used;
	pthread_mutex_lock(&p->lock);
	p->len[slot] = len;
	p->filled++;
	pthread_cond_broadcast(&p->data);
	pthread_mutex_unlock(&p->lock);
	p->used = 0;
	int rc = img_writer_write(w, p->buf + slot * SLOT_SIZE, len);
	pthread_mutex_lock(&p->lock);
	while (!slot_free(p))
		pthread_cond_wait(&p->space, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int img_hashpipe_put(struct img_hashpipe *p, const void *data, size_t len, struct img_writer *w)
{
	const unsigned char *d = data;
	while (len) {
		size_t slot = (size_t)(p->filled % SLOTS);
		size_t n = SLOT_SIZE - p->used < len ? SLOT_SIZE - p->used : len;
		memcpy(p->buf + slot * SLOT_SIZE + p->used, d, n);
		p->used += n;
		d += n;
		len -= n;
		if (p->used == SLOT_SIZE) {
			int rc = hand_over(p, w);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int img_hashpipe_flush(struct img_hashpipe *p, struct img_writer *w)
{
	return p->used ? hand_over(p, w) : 0;
}

void img_hashpipe_end(struct img_hashpipe *p)
{
	pipe_end(p, false);
}

void img_hashpipe_free(struct img_hashpipe *p)
{
	if (p)
		pipe_end(p, true);
}
