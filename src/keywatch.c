/* keywatch: a fingerprint of the key directory built from stat(2) of the directory and of
 * the files keyring_load reads (0.key-9.key and created): inode, size, mode, owner, mtime and
 * ctime. Atomic writes rename a new inode into place, so every write changes it. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keyfile.h"
#include "keyring.h"
#include "keywatch.h"

/* the directory, ten slots and the creation record */
#define KEYWATCH_ENTRIES (1 + KEYRING_SLOTS + 1)

struct keywatch_stat {
	int err;		/* 0, or the errno of lstat (ENOENT: absent) */
	dev_t dev;
	ino_t ino;
	off_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	long long mtime_s, mtime_ns, ctime_s, ctime_ns;
};

struct keywatch {
	char *dir;
	time_t checked;		/* when the fingerprint was last taken */
	struct keywatch_stat print[KEYWATCH_ENTRIES];
};

static void
keywatch_stat_one(const char *path, struct keywatch_stat *ks)
{
	struct stat st;

	memset(ks, 0, sizeof(*ks));
	if (lstat(path, &st) != 0) {
		ks->err = errno;
		return;
	}
	ks->dev = st.st_dev;
	ks->ino = st.st_ino;
	ks->size = st.st_size;
	ks->mode = st.st_mode;
	ks->uid = st.st_uid;
	ks->gid = st.st_gid;
	ks->mtime_s = (long long)st.st_mtim.tv_sec;
	ks->mtime_ns = (long long)st.st_mtim.tv_nsec;
	ks->ctime_s = (long long)st.st_ctim.tv_sec;
	ks->ctime_ns = (long long)st.st_ctim.tv_nsec;
}

static void
keywatch_print(const char *dir, struct keywatch_stat *print)
{
	char path[PATH_MAX];
	int i;

	keywatch_stat_one(dir, &print[0]);
	for (i = 0; i < KEYRING_SLOTS; i++) {
		if (keyfile_path(dir, i, path, sizeof(path)) != 0)
			path[0] = '\0';
		keywatch_stat_one(path, &print[1 + i]);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, KEYFILE_CREATED);
	keywatch_stat_one(path, &print[1 + KEYRING_SLOTS]);
}

struct keywatch *
keywatch_open(const char *dir, time_t now)
{
	struct keywatch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->dir = strdup(dir);
	if (w->dir == NULL) {
		free(w);
		return NULL;
	}
	w->checked = now;
	keywatch_print(w->dir, w->print);
	return w;
}

bool
keywatch_changed(struct keywatch *w, time_t now)
{
	struct keywatch_stat print[KEYWATCH_ENTRIES];

	if (now >= w->checked && now - w->checked < 1)
		return false;
	w->checked = now;
	keywatch_print(w->dir, print);
	if (memcmp(print, w->print, sizeof(print)) == 0)
		return false;
	memcpy(w->print, print, sizeof(print));
	return true;
}

void
keywatch_close(struct keywatch *w)
{
	if (w == NULL)
		return;
	free(w->dir);
	free(w);
}
