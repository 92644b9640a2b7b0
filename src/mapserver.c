/* mapserver: socketmap and tcp_table servers. Epoll workers (one per two CPUs by default),
 * each owning the connections it accepted, so no lock is taken per request. Frames are cut
 * and replies made by mapcodec; a malformed frame gets one error reply and the connection
 * is closed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "listenaddr.h"
#include "mapcodec.h"
#include "mapserver.h"

const char *
mapserver_strerror(int err)
{
	switch (err) {
	case MAPSERVER_OK: return "success";
	case MAPSERVER_ETRUNCATED: return "connection closed in the middle of a request";
	case MAPSERVER_EBIND: return "cannot listen on the socket";
	case MAPSERVER_EINUSE: return "another server is listening on the unix socket";
	case MAPSERVER_ENOMEM: return "out of memory";
	case MAPSERVER_ETHREAD: return "cannot start the worker threads";
	case LISTENADDR_ESPEC:
	case LISTENADDR_EMODE:
		return listenaddr_strerror(err);
	case MAPCODEC_EMORE:
	case MAPCODEC_ELENGTH:
	case MAPCODEC_ETOOBIG:
	case MAPCODEC_ECOMMA:
	case MAPCODEC_EREQUEST:
	case MAPCODEC_EENCODING:
	case MAPCODEC_ESPACE:
		return mapcodec_strerror(err);
	}
	return "unknown mapserver error";
}

#define PEER_BUCKETS 1024
#define LINGER_MS 2000		/* after an error reply, wait this long for the client to go */
#define ACCEPT_BATCH 32
#define SWEEP_MS 250
#define REPLY_ROOM (3 * MAPCODEC_VALUE_MAX + 64)

enum kind { KIND_LISTENER, KIND_CONN, KIND_STOP, KIND_WAKE };

struct listener {
	enum kind kind;
	int fd;
	enum mapserver_proto proto;
	char map[MAPCODEC_NAME_MAX + 1];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* unix socket to remove */
	dev_t dev;
	ino_t ino;
};

/* Who is at the other end, for the per-peer connection cap: the uid of a unix-socket
 * client (SO_PEERCRED), the address of an inet one. Clients the kernel cannot name share
 * one key, PEER_NONE. */
enum peer_kind { PEER_NONE, PEER_UID, PEER_V4, PEER_V6 };

struct peer_key {
	uint8_t kind;
	uint8_t id[16];
};

struct peer {
	struct peer_key key;
	unsigned n;		/* connections open or queued */
	struct peer *next;
};

struct conn {
	enum kind kind;
	int fd;
	uint32_t events;	/* what epoll watches now */
	bool closing;		/* an error reply is queued: flush, then hang up */
	bool eof;		/* the client will send nothing more */
	bool shut;		/* our side is shut down, waiting for the client's EOF */
	const struct listener *l;
	struct conn *prev, *next;
	uint64_t deadline;	/* the sweep closes the connection after this */
	uint64_t req_deadline;	/* when the partial request in[] must be complete */
	bool partial;		/* in[] holds the start of a request */
	struct peer_key peer;
	size_t inlen;
	char *in;
	size_t outoff, outlen, outcap;
	char *out;
};

/* A connection accepted by one worker for another, less loaded one. */
struct handoff {
	int fd;
	const struct listener *l;
	struct peer_key peer;
};

struct worker {
	struct mapserver *ms;
	pthread_t tid;
	int ep;
	enum kind wake_kind;	/* epoll tag of wakefd */
	int wakefd;		/* rung when handoffs are queued */
	pthread_mutex_t qlock;	/* guards queue, qlen, qcap */
	struct handoff *queue;
	size_t qlen, qcap;
	atomic_uint load;	/* connections owned or queued here */
	struct conn *conns;
	char *key;		/* scratch for the decoded key */
	char value[MAPCODEC_VALUE_MAX];
};

struct mapserver {
	struct mapserver_config cfg;
	struct listener **ls;
	size_t nls;
	struct worker *w;
	unsigned nw;
	int stopfd;
	enum kind stop_kind;
	atomic_uint conns;
	size_t incap;
	bool started;
	pthread_mutex_t plock;	/* guards peers */
	struct peer *peers[PEER_BUCKETS];
};

int
mapserver_new(const struct mapserver_config *cfg, struct mapserver **out)
{
	struct mapserver *ms = calloc(1, sizeof(*ms));
	long cpus;

	if (ms == NULL)
		return MAPSERVER_ENOMEM;
	ms->cfg = *cfg;
	if (ms->cfg.max_request == 0)
		ms->cfg.max_request = MAPCODEC_REQUEST_MAX;
	if (ms->cfg.max_connections == 0)
		ms->cfg.max_connections = MAPSERVER_CONN_MAX;
	if (ms->cfg.idle_timeout_ms == 0)
		ms->cfg.idle_timeout_ms = MAPSERVER_IDLE_MS;
	if (ms->cfg.request_timeout_ms == 0)
		ms->cfg.request_timeout_ms = MAPSERVER_REQUEST_MS;
	if (ms->cfg.max_per_peer == 0)	/* the MTA is one peer: leave it room to grow */
		ms->cfg.max_per_peer = ms->cfg.max_connections / 2 > 0 ?
		    ms->cfg.max_connections / 2 : 1;
	if (ms->cfg.max_output == 0)
		ms->cfg.max_output = MAPSERVER_OUTPUT_MAX;
	if (ms->cfg.threads == 0) {	/* the MTA that asks runs on the other half */
		cpus = sysconf(_SC_NPROCESSORS_ONLN) / 2;
		ms->cfg.threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus;
	}
	ms->incap = ms->cfg.max_request + 32;	/* room for "digits:" and "," or CRLF */
	ms->stop_kind = KIND_STOP;
	ms->stopfd = -1;
	atomic_init(&ms->conns, 0);
	pthread_mutex_init(&ms->plock, NULL);
	*out = ms;
	return MAPSERVER_OK;
}

static void
why_errno(char *why, size_t whylen, const char *what, const char *spec)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s %s: %s", what, spec, strerror(errno));
}

/* A unix socket path that exists: refuse if a server answers there, else remove it. */
static int
unix_clear(const struct listenaddr *a, const char *spec, char *why, size_t whylen)
{
	struct stat st;

	if (lstat(a->path, &st) != 0)
		return MAPSERVER_OK;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		why_errno(why, whylen, "not a socket, refusing to replace", spec);
		return MAPSERVER_EBIND;
	}
	if (daemon_socket_answers(a->path)) {
		errno = EADDRINUSE;
		why_errno(why, whylen, "another server answers on", spec);
		return MAPSERVER_EINUSE;
	}
	unlink(a->path);
	return MAPSERVER_OK;
}

static int
listener_unix_finish(struct listener *l, const struct listenaddr *a, uid_t owner,
    gid_t group, const char *spec, char *why, size_t whylen)
{
	struct stat st;
	int rc = daemon_socket_own(a->path, owner, group, a->mode, &st);

	if (rc == DAEMON_ESOCKSWAP) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "%s: %s", spec, daemon_strerror(rc));
		return MAPSERVER_EBIND;
	}
	if (rc != DAEMON_OK) {
		why_errno(why, whylen, "chmod/chown", spec);
		return MAPSERVER_EBIND;
	}
	snprintf(l->path, sizeof(l->path), "%s", a->path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return MAPSERVER_OK;
}

static int
listener_open(struct listener *l, const struct listenaddr *a, uid_t owner, gid_t group,
    const char *spec, char *why, size_t whylen)
{
	int one = 1, rc;

	if (a->family == AF_UNIX && (rc = unix_clear(a, spec, why, whylen)) != MAPSERVER_OK)
		return rc;
	l->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		why_errno(why, whylen, "socket", spec);
		return MAPSERVER_EBIND;
	}
	if (a->family != AF_UNIX)
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (const struct sockaddr *)&a->ss, a->sslen) != 0) {
		why_errno(why, whylen, "bind", spec);
		return MAPSERVER_EBIND;
	}
	if (a->family == AF_UNIX &&
	    (rc = listener_unix_finish(l, a, owner, group, spec, why, whylen)) != MAPSERVER_OK)
		return rc;
	if (listen(l->fd, 1024) != 0) {
		why_errno(why, whylen, "listen", spec);
		return MAPSERVER_EBIND;
	}
	return MAPSERVER_OK;
}

static void
listener_close(struct listener *l)
{
	struct stat st;

	if (l->fd >= 0)
		close(l->fd);
	if (l->path[0] != '\0' && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
	free(l);
}

int
mapserver_listen(struct mapserver *ms, const char *spec, enum mapserver_proto proto,
    const char *map, uid_t owner, gid_t group, char *why, size_t whylen)
{
	struct listenaddr a;
	struct listener *l, **ls;
	int rc = listenaddr_parse(spec, &a);

	if (rc != LISTENADDR_OK) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "%s: %s", spec, mapserver_strerror(rc));
		return rc;
	}
	ls = realloc(ms->ls, (ms->nls + 1) * sizeof(*ls));
	l = calloc(1, sizeof(*l));
	if (ls != NULL)
		ms->ls = ls;
	if (ls == NULL || l == NULL) {
		free(l);
		return MAPSERVER_ENOMEM;
	}
	l->kind = KIND_LISTENER;
	l->proto = proto;
	snprintf(l->map, sizeof(l->map), "%s", map != NULL ? map : "");
	rc = listener_open(l, &a, owner, group, spec, why, whylen);
	if (rc != MAPSERVER_OK) {
		listener_close(l);
		return rc;
	}
	ms->ls[ms->nls++] = l;
	return MAPSERVER_OK;
}

unsigned
mapserver_connections(const struct mapserver *ms)
{
	return atomic_load(&ms->conns);
}

/* -- peers -- */

static void
peer_key_of(int fd, const struct sockaddr_storage *ss, struct peer_key *k)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(k, 0, sizeof(*k));
	if (ss->ss_family == AF_INET) {
		k->kind = PEER_V4;
		memcpy(k->id, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		k->kind = PEER_V6;
		memcpy(k->id, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		k->kind = PEER_UID;
		memcpy(k->id, &cred.uid, sizeof(cred.uid));
	}
}

static struct peer **
peer_slot(struct mapserver *ms, const struct peer_key *k)
{
	uint32_t h = 2166136261u;
	const uint8_t *b = (const uint8_t *)k;
	struct peer **pp;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	pp = &ms->peers[h % PEER_BUCKETS];
	while (*pp != NULL && memcmp(&(*pp)->key, k, sizeof(*k)) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* peer_take - count one more connection for k; false when k is at its cap */
static bool
peer_take(struct mapserver *ms, const struct peer_key *k)
{
	struct peer **pp, *p;
	bool ok = false;

	pthread_mutex_lock(&ms->plock);
	pp = peer_slot(ms, k);
	if (*pp == NULL && (*pp = calloc(1, sizeof(**pp))) != NULL)
		(*pp)->key = *k;
	p = *pp;
	if (p != NULL && p->n < ms->cfg.max_per_peer) {
		p->n++;
		ok = true;
	}
	if (p != NULL && p->n == 0) {
		*pp = p->next;
		free(p);
	}
	pthread_mutex_unlock(&ms->plock);
	return ok;
}

static void
peer_put(struct mapserver *ms, const struct peer_key *k)
{
	struct peer **pp, *p;

	pthread_mutex_lock(&ms->plock);
	pp = peer_slot(ms, k);
	p = *pp;
	if (p != NULL && --p->n == 0) {
		*pp = p->next;
		free(p);
	}
	pthread_mutex_unlock(&ms->plock);
}

/* conn_uncount - an accepted connection is gone: the totals and its peer's share */
static void
conn_uncount(struct worker *w, const struct peer_key *k)
{
	atomic_fetch_sub(&w->ms->conns, 1);
	atomic_fetch_sub(&w->load, 1);
	peer_put(w->ms, k);
}

/* -- connections -- */

static void
conn_close(struct worker *w, struct conn *c)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_uncount(w, &c->peer);
	free(c->in);
	free(c->out);
	free(c);
}

static bool
conn_room(struct conn *c, size_t need)
{
	size_t cap;
	char *p;

	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outcap - c->outlen >= need)
		return true;
	cap = c->outcap * 2 > c->outlen + need ? c->outcap * 2 : c->outlen + need;
	p = realloc(c->out, cap);
	if (p == NULL)
		return false;
	c->out = p;
	c->outcap = cap;
	return true;
}

static void
conn_error(struct worker *w, struct conn *c, int err)
{
	char text[128];
	int n;

	snprintf(text, sizeof(text), "protocol error: %s", mapserver_strerror(err));
	c->closing = true;
	if (!conn_room(c, sizeof(text) + 32))
		return;
	if (c->l->proto == MAPSERVER_SOCKETMAP)
		n = mapcodec_socketmap_reply(MAPCODEC_PERM, text, c->out + c->outlen,
		    c->outcap - c->outlen);
	else
		n = mapcodec_tcp_reply(MAPCODEC_TEMP, text, c->out + c->outlen,
		    c->outcap - c->outlen);
	if (n > 0)
		c->outlen += (size_t)n;
	(void)w;
}

/* One complete frame: parse the request, look it up, queue the reply. */
static int
conn_request(struct worker *w, struct conn *c, const char *data, size_t len, void **batch)
{
	struct mapserver *ms = w->ms;
	char name[MAPCODEC_NAME_MAX + 1];
	const char *map = c->l->map, *nm, *key;
	size_t nlen, klen;
	enum mapcodec_status st;
	int rc, n;

	if (c->l->proto == MAPSERVER_SOCKETMAP) {
		rc = mapcodec_socketmap_split(data, len, &nm, &nlen, &key, &klen);
		if (rc != MAPCODEC_OK)
			return rc;
		memcpy(name, nm, nlen);
		name[nlen] = '\0';
		memcpy(w->key, key, klen);
		w->key[klen] = '\0';
		map = name;
	} else if ((rc = mapcodec_tcp_request(data, len, w->key, ms->cfg.max_request + 1)) !=
	    MAPCODEC_OK) {
		return rc;
	}
	if (*batch == NULL && ms->cfg.batch_begin != NULL)
		*batch = ms->cfg.batch_begin(ms->cfg.ctx);
	w->value[0] = '\0';
	st = ms->cfg.lookup(ms->cfg.ctx, *batch, map, w->key, w->value, sizeof(w->value));
	w->value[sizeof(w->value) - 1] = '\0';
	if (!conn_room(c, REPLY_ROOM))
		return MAPSERVER_ENOMEM;
	if (c->l->proto == MAPSERVER_SOCKETMAP)
		n = mapcodec_socketmap_reply(st, w->value, c->out + c->outlen, c->outcap - c->outlen);
	else
		n = mapcodec_tcp_reply(st, w->value, c->out + c->outlen, c->outcap - c->outlen);
	if (n < 0)
		return n;
	c->outlen += (size_t)n;
	return MAPSERVER_OK;
}

/* Answer every complete frame in the input buffer, up to the output high-water mark;
 * true when it stopped there with input left, so the caller should come back. */
static bool
conn_process(struct worker *w, struct conn *c)
{
	size_t off = 0, max = w->ms->cfg.max_request, dlen, used, omax = w->ms->cfg.max_output;
	const char *data;
	void *batch = NULL;
	int rc;

	while (!c->closing && off < c->inlen && c->outlen - c->outoff < omax) {
		if (c->l->proto == MAPSERVER_SOCKETMAP)
			rc = mapcodec_netstring_parse(c->in + off, c->inlen - off, max, &data,
			    &dlen, &used);
		else
			rc = mapcodec_line_parse(c->in + off, c->inlen - off, max, &data, &dlen,
			    &used);
		if (rc == MAPCODEC_EMORE)
			break;
		if (rc == MAPCODEC_OK)
			rc = conn_request(w, c, data, dlen, &batch);
		if (rc != MAPSERVER_OK) {
			conn_error(w, c, rc);
			break;
		}
		off += used;
	}
	if (batch != NULL && w->ms->cfg.batch_end != NULL)
		w->ms->cfg.batch_end(w->ms->cfg.ctx, batch);
	if (c->closing)
		off = c->inlen;
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	if (c->eof && c->inlen > 0 && !c->closing && c->outlen - c->outoff < omax) {
		conn_error(w, c, MAPSERVER_ETRUNCATED);
		c->inlen = 0;
	}
	return c->inlen > 0 && !c->closing && c->outlen - c->outoff >= omax;
}

/* Write what is queued; false when the connection is dead. */
static bool
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return true;
}

static void
conn_watch(struct worker *w, struct conn *c, uint32_t events)
{
	struct epoll_event ev;

	if (events == c->events)
		return;
	ev.events = events;
	ev.data.ptr = c;
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

/* conn_deadline - when to give up on c: a request gets request_timeout from its first byte
 * (a byte now and then does not extend it: that is how slow clients held every slot), and
 * the time between requests is the idle timeout. */
static void
conn_deadline(const struct mapserver *ms, struct conn *c, uint64_t now)
{
	if (c->shut)
		return;	/* lingering after an error reply: LINGER_MS already set */
	if (c->inlen == 0) {
		c->partial = false;
		c->deadline = now + ms->cfg.idle_timeout_ms;
		return;
	}
	if (!c->partial) {
		c->partial = true;
		c->req_deadline = now + ms->cfg.request_timeout_ms;
	}
	c->deadline = c->req_deadline;
}

/* After reading or writing: answer, flush, and decide what to wait for next. A client
 * whose unsent replies reach max_output is not reading them: it is dropped, so what it
 * costs is bounded (it used to be read on to 256 kB queued, 1.2 GB over 4096 clients). */
static void
conn_pump(struct worker *w, struct conn *c, uint64_t now)
{
	bool pending = false, more = true, room;
	int round;

	for (round = 0; round < 64 && more && !pending; round++) {
		more = conn_process(w, c);
		if (!conn_flush(c)) {
			conn_close(w, c);
			return;
		}
		pending = c->outlen > c->outoff;
	}
	if (c->outlen - c->outoff >= w->ms->cfg.max_output) {
		conn_close(w, c);
		return;
	}
	if (!pending && (c->closing || c->eof)) {
		if (c->eof) {
			conn_close(w, c);
			return;
		}
		if (!c->shut) {
			shutdown(c->fd, SHUT_WR);
			c->shut = true;
			c->deadline = now + LINGER_MS;
		}
	}
	conn_deadline(w->ms, c, now);
	/* a full in[] is read no further (a 0-byte read would look like EOF): come back when
	 * the socket is writable and answer what is in it first */
	room = c->inlen < w->ms->incap;
	conn_watch(w, c, (pending || !room ? EPOLLOUT : 0) | (!c->eof && room ? EPOLLIN : 0));
}

static void
conn_read(struct worker *w, struct conn *c, uint64_t now)
{
	char sink[4096];
	ssize_t n;

	if (c->closing) {
		n = read(c->fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(w, c);
			return;
		}
	} else {
		n = read(c->fd, c->in + c->inlen, w->ms->incap - c->inlen);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_close(w, c);
			return;
		}
		if (n == 0)
			c->eof = true;
		if (n > 0)
			c->inlen += (size_t)n;
	}
	conn_pump(w, c, now);
}

static void
conn_event(struct worker *w, struct conn *c, uint32_t events, uint64_t now)
{
	if (events & EPOLLERR) {
		conn_close(w, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
		conn_read(w, c, now);
	else if (events & EPOLLOUT)
		conn_pump(w, c, now);
}

/* -- workers -- */

/* conn_adopt - a new connection served by w (its load already counts it) */
static void
conn_adopt(struct worker *w, int fd, const struct listener *l, const struct peer_key *k,
    uint64_t now)
{
	struct mapserver *ms = w->ms;
	struct epoll_event ev;
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL || (c->in = malloc(ms->incap)) == NULL) {
		free(c);
		close(fd);
		conn_uncount(w, k);
		return;
	}
	if (l->path[0] == '\0')
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->kind = KIND_CONN;
	c->fd = fd;
	c->l = l;
	c->peer = *k;
	c->deadline = now + ms->cfg.idle_timeout_ms;
	c->events = EPOLLIN | EPOLLRDHUP;
	ev.events = c->events;
	ev.data.ptr = c;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		conn_close(w, c);
}

/* worker_pick - the least loaded worker, w itself on a tie. (Packing a few connections
 * onto one worker saved CPU per request but lost throughput at 4 connections.) */
static struct worker *
worker_pick(struct worker *w)
{
	struct mapserver *ms = w->ms;
	struct worker *best = w;
	unsigned i, min = atomic_load(&w->load), n;

	for (i = 0; i < ms->cfg.threads; i++) {
		n = atomic_load(&ms->w[i].load);
		if (n < min) {
			min = n;
			best = &ms->w[i];
		}
	}
	return best;
}

/* worker_handoff - queue an accepted connection for worker t and wake it */
static void
worker_handoff(struct worker *t, int fd, const struct listener *l, const struct peer_key *k)
{
	struct handoff *q;
	uint64_t one = 1;
	bool queued = false;

	pthread_mutex_lock(&t->qlock);
	if (t->qlen == t->qcap) {
		q = realloc(t->queue, (t->qcap * 2 + 8) * sizeof(*q));
		if (q != NULL) {
			t->queue = q;
			t->qcap = t->qcap * 2 + 8;
		}
	}
	if (t->qlen < t->qcap) {
		t->queue[t->qlen].fd = fd;
		t->queue[t->qlen].peer = *k;
		t->queue[t->qlen++].l = l;
		queued = true;
	}
	pthread_mutex_unlock(&t->qlock);
	if (!queued) {
		close(fd);
		conn_uncount(t, k);
	} else if (write(t->wakefd, &one, sizeof(one)) < 0) {
		return;	/* the counter is already non-zero: the worker wakes anyway */
	}
}

/* worker_drain - adopt the connections other workers queued here (or close them at stop) */
static void
worker_drain(struct worker *w, uint64_t now, bool stopping)
{
	struct handoff batch[64];
	uint64_t v;
	size_t n, i;

	if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	do {
		pthread_mutex_lock(&w->qlock);
		n = w->qlen < 64 ? w->qlen : 64;
		if (n > 0)	/* queue is NULL until the first handoff: no NULL + 0 */
			memcpy(batch, w->queue + w->qlen - n, n * sizeof(*batch));
		w->qlen -= n;
		pthread_mutex_unlock(&w->qlock);
		for (i = 0; i < n; i++) {
			if (!stopping) {
				conn_adopt(w, batch[i].fd, batch[i].l, &batch[i].peer, now);
				continue;
			}
			close(batch[i].fd);
			conn_uncount(w, &batch[i].peer);
		}
	} while (n == 64);
}

static void
accept_some(struct worker *w, struct listener *l, uint64_t now)
{
	struct mapserver *ms = w->ms;
	struct worker *t;
	struct sockaddr_storage ss;
	struct peer_key k;
	socklen_t sslen;
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (atomic_fetch_add(&ms->conns, 1) >= ms->cfg.max_connections) {
			atomic_fetch_sub(&ms->conns, 1);
			close(fd);
			continue;
		}
		/* one uid or address may not take every slot: the MTA's own lookups must
		 * still find one when another local user or host opens connections */
		peer_key_of(fd, &ss, &k);
		if (!peer_take(ms, &k)) {
			atomic_fetch_sub(&ms->conns, 1);
			close(fd);
			continue;
		}
		t = worker_pick(w);
		atomic_fetch_add(&t->load, 1);
		if (t == w)
			conn_adopt(w, fd, l, &k, now);
		else
			worker_handoff(t, fd, l, &k);
	}
}

static void
worker_sweep(struct worker *w, uint64_t now)
{
	struct conn *c = w->conns, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->deadline <= now)
			conn_close(w, c);
	}
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];
	uint64_t now, next_sweep = clock_monotonic() + SWEEP_MS;
	int i, n;

	for (;;) {
		n = epoll_wait(w->ep, evs, 64, SWEEP_MS);
		now = clock_monotonic();
		for (i = 0; i < n; i++) {
			enum kind k = *(enum kind *)evs[i].data.ptr;

			if (k == KIND_STOP)
				goto out;
			if (k == KIND_WAKE)
				worker_drain(w, now, false);
			else if (k == KIND_LISTENER)
				accept_some(w, evs[i].data.ptr, now);
			else
				conn_event(w, evs[i].data.ptr, evs[i].events, now);
		}
		if (now >= next_sweep) {
			worker_sweep(w, now);
			next_sweep = now + SWEEP_MS;
		}
	}
out:
	while (w->conns != NULL)
		conn_close(w, w->conns);
	worker_drain(w, now, true);
	return NULL;
}

static int
worker_init(struct mapserver *ms, struct worker *w)
{
	struct epoll_event ev;
	size_t i;

	w->ms = ms;
	w->key = malloc(ms->cfg.max_request + 1);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->wake_kind = KIND_WAKE;
	if (w->key == NULL || w->ep < 0 || w->wakefd < 0)
		return MAPSERVER_ENOMEM;
	ev.events = EPOLLIN;
	ev.data.ptr = &ms->stop_kind;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, ms->stopfd, &ev) != 0)
		return MAPSERVER_ENOMEM;
	ev.data.ptr = &w->wake_kind;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->wakefd, &ev) != 0)
		return MAPSERVER_ENOMEM;
	for (i = 0; i < ms->nls; i++) {
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = ms->ls[i];
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, ms->ls[i]->fd, &ev) != 0)
			return MAPSERVER_ENOMEM;
	}
	return MAPSERVER_OK;
}

int
mapserver_start(struct mapserver *ms)
{
	unsigned i;
	int rc;

	ms->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ms->w = calloc(ms->cfg.threads, sizeof(*ms->w));
	if (ms->stopfd < 0 || ms->w == NULL)
		return MAPSERVER_ENOMEM;
	for (i = 0; i < ms->cfg.threads; i++) {
		ms->w[i].ep = ms->w[i].wakefd = -1;
		pthread_mutex_init(&ms->w[i].qlock, NULL);
		atomic_init(&ms->w[i].load, 0);
	}
	for (i = 0; i < ms->cfg.threads; i++)
		if ((rc = worker_init(ms, &ms->w[i])) != MAPSERVER_OK)
			return rc;
	for (i = 0; i < ms->cfg.threads; i++) {
		if (pthread_create(&ms->w[i].tid, NULL, worker_run, &ms->w[i]) != 0) {
			mapserver_stop(ms);
			return MAPSERVER_ETHREAD;
		}
		ms->nw++;
	}
	ms->started = true;
	return MAPSERVER_OK;
}

void
mapserver_stop(struct mapserver *ms)
{
	uint64_t one = 1;
	unsigned i;

	if (ms->stopfd >= 0 && write(ms->stopfd, &one, sizeof(one)) < 0)
		return;	/* cannot happen on a fresh eventfd; workers would not wake */
	for (i = 0; i < ms->nw; i++)
		pthread_join(ms->w[i].tid, NULL);
	ms->nw = 0;
	ms->started = false;
}

void
mapserver_free(struct mapserver *ms)
{
	size_t i;

	if (ms == NULL)
		return;
	if (ms->started)
		mapserver_stop(ms);
	for (i = 0; ms->w != NULL && i < ms->cfg.threads; i++) {
		if (ms->w[i].ep >= 0)
			close(ms->w[i].ep);
		if (ms->w[i].wakefd >= 0)
			close(ms->w[i].wakefd);
		pthread_mutex_destroy(&ms->w[i].qlock);
		while (ms->w[i].qlen > 0)	/* handed off after its worker stopped */
			close(ms->w[i].queue[--ms->w[i].qlen].fd);
		free(ms->w[i].queue);
		free(ms->w[i].key);
	}
	for (i = 0; i < ms->nls; i++)
		listener_close(ms->ls[i]);
	if (ms->stopfd >= 0)
		close(ms->stopfd);
	for (i = 0; i < PEER_BUCKETS; i++)
		while (ms->peers[i] != NULL) {
			struct peer *p = ms->peers[i];

			ms->peers[i] = p->next;
			free(p);
		}
	pthread_mutex_destroy(&ms->plock);
	free(ms->ls);
	free(ms->w);
	free(ms);
}
