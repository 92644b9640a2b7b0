/* daemon: detaching, pid files and privilege drop, shared by backstop-milter and
 * srs-rewrite serve. The order is the caller's: bind, detach, pid file, drop, then open
 * the stores so their files belong to the daemon's user. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <syslog.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

/* daemon_id_parse - a decimal id of the whole of text[0..len), or -1 */
static long long
daemon_id_parse(const char *text, size_t len)
{
	long long v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		v = v * 10 + (text[i] - '0');
	}
	return v < 0xffffffffLL ? v : -1;	/* (uid_t)-1 means "no change" to chown */
}

/* A name is looked up first, as chown(1) does, so that a user named "102" is that user;
 * a number then stands for itself, known to the user database or not. A number without a
 * passwd entry has no primary group to take: it needs ":group". */
int
daemon_user(const char *spec, uid_t *uid, gid_t *gid)
{
	char name[256];
	const char *colon = strchr(spec, ':');
	size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	const struct passwd *pw;
	const struct group *gr;
	long long id;
	bool have_gid = false;

	if (n == 0 || n >= sizeof(name))
		return DAEMON_EUSER;
	memcpy(name, spec, n);
	name[n] = '\0';
	if ((pw = getpwnam(name)) == NULL && (id = daemon_id_parse(name, n)) >= 0)
		pw = getpwuid((uid_t)id);
	if (pw != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		have_gid = true;
	} else if ((id = daemon_id_parse(name, n)) >= 0)
		*uid = (uid_t)id;
	else
		return DAEMON_EUSER;
	if (colon == NULL)
		return have_gid ? DAEMON_OK : DAEMON_EUSER;
	if ((gr = getgrnam(colon + 1)) != NULL)
		*gid = gr->gr_gid;
	else if ((id = daemon_id_parse(colon + 1, strlen(colon + 1))) >= 0)
		*gid = (gid_t)id;
	else
		return DAEMON_EUSER;
	return DAEMON_OK;
}

static void
daemon_devnull(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

int
daemon_detach(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return DAEMON_EFORK;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return DAEMON_EFORK;
	pid = fork();	/* never reacquire a controlling terminal */
	if (pid < 0)
		return DAEMON_EFORK;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return DAEMON_EFORK;
	daemon_devnull();
	return DAEMON_OK;
}

static pid_t
daemon_pidfile_read(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

/* We are root here, and the pid file's directory may be the daemon user's (backstop.conf(5)
 * advises it so the file can be removed at the stop): whatever that user left at the path
 * is not to be trusted. So no symlink is followed (O_NOFOLLOW), nothing is truncated at open,
 * and only a plain file of ours with a single link (not a hard link to someone's file, not
 * a FIFO: O_NONBLOCK) is truncated and written. */
static int
daemon_pidfile_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno == ELOOP ? DAEMON_EPIDLINK : DAEMON_EPIDFILE;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1) {
		close(fd);
		return DAEMON_EPIDLINK;
	}
	if (ftruncate(fd, 0) != 0) {
		close(fd);
		return DAEMON_EPIDFILE;
	}
	return fd;
}

int
daemon_pidfile_write(const char *path)
{
	char buf[32];
	pid_t old = daemon_pidfile_read(path);
	int fd, len;

	if (old > 0 && old != getpid() && kill(old, 0) == 0)
		return DAEMON_ERUNNING;
	fd = daemon_pidfile_open(path);
	if (fd < 0)
		return fd;
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		unlink(path);
		return DAEMON_EPIDFILE;
	}
	close(fd);
	return DAEMON_OK;
}

void
daemon_pidfile_remove(const char *path)
{
	if (path != NULL && daemon_pidfile_read(path) == getpid())
		unlink(path);
}

/* bind() made the socket and never follows a symlink, but chown() and chmod() by path would:
 * between bind and them, whoever can write the directory (the daemon's user, or the MTA's
 * spool) could swap in a symlink to /etc/shadow. fchown/fchmod on the socket's own fd do not
 * reach the file (Linux applies them to the socket inode), and a umask around bind would
 * change the mode of files other threads create. So the path is opened once with O_PATH and
 * O_NOFOLLOW, checked to be a socket that we own, and changed through that descriptor. */
int
daemon_socket_own(const char *path, uid_t uid, gid_t gid, mode_t mode, struct stat *st)
{
	char proc[64];
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc = DAEMON_ESOCKET;

	if (fd < 0)
		return DAEMON_ESOCKET;
	if (fstat(fd, st) != 0)
		goto fail;
	if (!S_ISSOCK(st->st_mode) || st->st_uid != geteuid()) {
		rc = DAEMON_ESOCKSWAP;
		goto fail;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0)
		goto fail;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);	/* the inode fd names */
	if (chmod(proc, mode) != 0 || fstat(fd, st) != 0)
		goto fail;
	rc = DAEMON_OK;
fail:
	close(fd);
	return rc;
}

bool
daemon_can_become(uid_t uid, gid_t gid)
{
	return geteuid() == 0 ||
	    (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid);
}

int
daemon_drop(uid_t uid, gid_t gid)
{
	struct passwd *pw;

	/* already that user (systemd's User=, or su): nothing to drop, and no right to */
	if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
		return DAEMON_OK;
	pw = getpwuid(uid);
	if (pw != NULL ? initgroups(pw->pw_name, gid) != 0 : setgroups(1, &gid) != 0)
		return DAEMON_EPRIV;
	if (setgid(gid) != 0 || setuid(uid) != 0)
		return DAEMON_EPRIV;
	if (uid != 0 && setuid(0) == 0)
		return DAEMON_EPRIV;	/* the drop did not stick */
	return DAEMON_OK;
}

const char *
daemon_strerror(int err)
{
	switch (err) {
	case DAEMON_OK: return "success";
	case DAEMON_EFORK: return "cannot detach (fork or setsid failed)";
	case DAEMON_EUSER:
		return "no such user or group (a number the user database does not know needs "
		       "its group: uid:gid)";
	case DAEMON_EPRIV: return "cannot switch user and group";
	case DAEMON_EPIDFILE: return "cannot write the pid file";
	case DAEMON_ERUNNING: return "another instance is running (its pid is in the pid file)";
	case DAEMON_EPIDLINK:
		return "the pid file is a symbolic link, or not a plain file of this user's with one "
		       "link: refusing to write through it (remove it: the daemon makes its own)";
	case DAEMON_ESOCKET: return "cannot set the socket's owner or mode";
	case DAEMON_ESOCKSWAP:
		return "the socket's path no longer holds the socket just bound (a symbolic link or "
		       "another file replaced it): refusing to change its owner or mode";
	case DAEMON_ENODIR:
		return "its directory does not exist or cannot be searched: a start fails unless it "
		       "is made first (systemd's RuntimeDirectory makes /run/backstop)";
	case DAEMON_ESWITCH:
		return "this process cannot switch to it: start as root, or as that user";
	case DAEMON_EDIRWRITE:
		return "it cannot make files there, so a start as that user (as the systemd units "
		       "start) cannot bind, and a start as root cannot remove the socket at the stop: "
		       "make the directory that user's (chown)";
	case DAEMON_ENOSYSLOG:
		return "nothing receives on the syslog socket " _PATH_LOG " (no syslog daemon or "
		       "journald runs here): log lines would be lost";
	case DAEMON_EPATHKIND:
		return "a symbolic link or another kind of file is there, which the start refuses "
		       "to write through or replace: remove it";
	}
	return "unknown daemon error";
}

uid_t
daemon_user_uid(const char *spec)
{
	uid_t uid;
	gid_t gid;

	if (spec == NULL || daemon_user(spec, &uid, &gid) != DAEMON_OK)
		return (uid_t)-1;
	return uid;
}

/* A stale socket file refuses connections (ECONNREFUSED); a live one, whoever serves it,
 * accepts: replacing that would take the socket from under a running server. */
bool
daemon_socket_answers(const char *path)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	int fd, rc;

	if (len >= sizeof(sun.sun_path))
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	rc = connect(fd, (const struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

/* check_child - the child of daemon_check_as: become uid/gid, run the check, send why down
 * fd; its exit status is the check's code, negated */
static void __attribute__((noreturn))
check_child(int fd, uid_t uid, gid_t gid, daemon_check_fn check, const void *arg)
{
	char why[1024];
	int rc;

	if (geteuid() != uid && daemon_drop(uid, gid) != DAEMON_OK) {
		snprintf(why, sizeof(why), "cannot switch to uid %ld gid %ld", (long)uid, (long)gid);
		ssize_t w = write(fd, why, strlen(why));

		(void)w;
		_exit(255);	/* the check did not run: the caller's fail code */
	}
	why[0] = '\0';
	rc = check(arg, why, sizeof(why));
	if (rc != 0 && write(fd, why, strlen(why)) < 0)
		_exit(255);
	_exit(rc < 0 && rc > -255 ? -rc : rc == 0 ? 0 : 255);
}

int
daemon_check_as(uid_t uid, gid_t gid, daemon_check_fn check, const void *arg, int fail, char *why,
    size_t whylen)
{
	int fds[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (whylen > 0)
		why[0] = '\0';
	if (geteuid() != 0 && geteuid() != uid)
		return 0;	/* cannot become them: nothing to tell */
	if (pipe(fds) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return fail;
	}
	if ((pid = fork()) == 0) {
		close(fds[0]);
		check_child(fds[1], uid, gid, check, arg);
	}
	close(fds[1]);
	while (pid > 0 && got + 1 < whylen &&
	    ((n = read(fds[0], why + got, whylen - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(fds[0]);
	if (whylen > 0)
		why[got] = '\0';
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return fail;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (got == 0)
		snprintf(why, whylen, "the check as uid %ld failed", (long)uid);
	return WIFEXITED(status) && WEXITSTATUS(status) != 255 ? -WEXITSTATUS(status) : fail;
}

int
daemon_path_check(const char *path, bool want_socket)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash != NULL && slash != path) {
		if ((size_t)(slash - path) >= sizeof(dir))
			return DAEMON_ENODIR;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			return DAEMON_ENODIR;
	}
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? DAEMON_OK : DAEMON_ENODIR;
	if (want_socket ? !S_ISSOCK(st.st_mode) : !S_ISREG(st.st_mode))
		return DAEMON_EPATHKIND;
	return DAEMON_OK;
}

int
daemon_user_check(const char *spec, uid_t *uid, gid_t *gid)
{
	int rc = daemon_user(spec, uid, gid);

	if (rc != DAEMON_OK)
		return rc;
	return daemon_can_become(*uid, *gid) ? DAEMON_OK : DAEMON_ESWITCH;
}

/* dir_writable - the check daemon_dir_check_as runs as the user: access() asks with the
 * real ids, which the child's drop set */
static int
dir_writable(const void *arg, char *why, size_t whylen)
{
	const char *dir = arg;

	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	snprintf(why, whylen, "%s: %s", dir, strerror(errno));
	return DAEMON_EDIRWRITE;
}

int
daemon_dir_check_as(const char *path, uid_t uid, gid_t gid, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');
	char why[512];
	int rc;

	if (slash == NULL)
		snprintf(dir, dirlen, ".");
	else
		snprintf(dir, dirlen, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	rc = daemon_check_as(uid, gid, dir_writable, dir, DAEMON_EDIRWRITE, why, sizeof(why));
	return rc == 0 ? DAEMON_OK : DAEMON_EDIRWRITE;
}

/* syslog(3) sends datagrams to _PATH_LOG, or a stream where that is what listens there: a
 * socket file whose server is gone refuses both (ECONNREFUSED), a missing one is ENOENT. */
int
daemon_syslog_check(const char *path)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sun;
	size_t i, len = strlen(path);
	int fd, rc = -1;

	if (len >= sizeof(sun.sun_path))
		return DAEMON_ENOSYSLOG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len + 1);
	for (i = 0; i < 2 && rc != 0; i++) {
		if ((fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0)) < 0)
			continue;
		rc = connect(fd, (const struct sockaddr *)&sun, sizeof(sun));
		close(fd);
	}
	return rc == 0 ? DAEMON_OK : DAEMON_ENOSYSLOG;
}
