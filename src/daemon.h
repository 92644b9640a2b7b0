/* daemon: what a long-running backstop program does to become a daemon: detach from the
 * terminal, write and remove its pid file, and drop root for UserID after binding. */
#ifndef BACKSTOP_DAEMON_H
#define BACKSTOP_DAEMON_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

enum daemon_err {
	DAEMON_OK = 0,
	DAEMON_EFORK = -1,	/* temporary: fork or setsid failed */
	DAEMON_EUSER = -2,	/* permanent: no such user or group */
	DAEMON_EPRIV = -3,	/* permanent: setuid/setgid/initgroups failed */
	DAEMON_EPIDFILE = -4,	/* permanent: cannot write the pid file */
	DAEMON_ERUNNING = -5,	/* permanent: the pid file names a live process */
	DAEMON_EPIDLINK = -6,	/* permanent: pid file a symlink, or not a plain file of ours */
	DAEMON_ESOCKET = -7,	/* permanent: cannot set the socket's owner or mode (errno) */
	DAEMON_ESOCKSWAP = -8,	/* permanent: the socket's path no longer holds our socket */
	DAEMON_ENODIR = -9,	/* permanent: the directory of a pid file or socket is missing */
	DAEMON_EPATHKIND = -10,	/* permanent: a symlink, or not the kind of file it should be */
	DAEMON_ESWITCH = -11,	/* permanent: this process cannot become UserID */
	DAEMON_EDIRWRITE = -12,	/* permanent: the user cannot make files in the directory */
	DAEMON_ENOSYSLOG = -13,	/* temporary: nothing receives on the syslog socket */
};

/* daemon_user - resolve "user[:group]", each a name or a number, to ids */
int daemon_user(const char *spec, uid_t *uid, gid_t *gid) __attribute__((warn_unused_result));
/* daemon_user_check - daemon_user, and this process can become those ids (DAEMON_ESWITCH) */
int daemon_user_check(const char *spec, uid_t *uid, gid_t *gid) __attribute__((warn_unused_result));
/* daemon_dir_check_as - can uid/gid make and remove files in the directory of path (asked
 * as them, supplementary groups counted)? DAEMON_EDIRWRITE with the directory in dir */
int daemon_dir_check_as(const char *path, uid_t uid, gid_t gid, char *dir, size_t dirlen)
	__attribute__((warn_unused_result));
/* daemon_syslog_check - does something receive on the syslog socket at path (/dev/log)? */
int daemon_syslog_check(const char *path) __attribute__((warn_unused_result));
/* daemon_user_uid - the uid of "user[:group]"; (uid_t)-1 for NULL or an unknown user */
uid_t daemon_user_uid(const char *spec);
/* daemon_detach - fork into the background, new session, stdio on /dev/null */
int daemon_detach(void) __attribute__((warn_unused_result));
/* daemon_pidfile_write - write our pid, refusing when another live process holds it */
int daemon_pidfile_write(const char *path) __attribute__((warn_unused_result));
/* daemon_pidfile_remove - remove the pid file if it still holds our pid */
void daemon_pidfile_remove(const char *path);
/* daemon_socket_own - chown and chmod the unix socket just bound at path, through no symlink */
int daemon_socket_own(const char *path, uid_t uid, gid_t gid, mode_t mode, struct stat *st)
	__attribute__((warn_unused_result));
/* daemon_path_check - could a start create the pid file (want_socket false) or unix socket
 * at path: its directory exists, and what is there is no symlink and of the right kind */
int daemon_path_check(const char *path, bool want_socket) __attribute__((warn_unused_result));
/* daemon_socket_answers - does a server accept connections on the unix socket at path? */
bool daemon_socket_answers(const char *path);
/* A check run by daemon_check_as: 0, or a negative code with the reason in why. */
typedef int (*daemon_check_fn)(const void *arg, char *why, size_t whylen);
/* daemon_check_as - run check in a child that is uid/gid; 0 also when this process cannot
 * become them (nothing to tell), else the check's code, or fail when the child did not run */
int daemon_check_as(uid_t uid, gid_t gid, daemon_check_fn check, const void *arg, int fail,
    char *why, size_t whylen) __attribute__((warn_unused_result));
/* daemon_can_become - can this process run as uid/gid (root, or it already is)? */
bool daemon_can_become(uid_t uid, gid_t gid);
/* daemon_drop - switch to uid/gid with their supplementary groups (nothing to do if already) */
int daemon_drop(uid_t uid, gid_t gid) __attribute__((warn_unused_result));
/* daemon_strerror - text for a daemon_err code */
const char *daemon_strerror(int err);

#endif
