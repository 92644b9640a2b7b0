/* daemon: detaching, pid files and privilege drop, shared by backstop-milter and
 * srs-rewrite serve. The order is the caller's: bind, detach, pid file, drop, then open
 * the stores so their files belong to the daemon's user. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

int
daemon_user(const char *spec, uid_t *uid, gid_t *gid)
{
	char name[256];
	const char *colon = strchr(spec, ':');
	size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	struct passwd *pw;
	struct group *gr;

	if (n == 0 || n >= sizeof(name))
		return DAEMON_EUSER;
	memcpy(name, spec, n);
	name[n] = '\0';
	pw = getpwnam(name);
	if (pw == NULL)
		return DAEMON_EUSER;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL) {
		gr = getgrnam(colon + 1);
		if (gr == NULL)
			return DAEMON_EUSER;
		*gid = gr->gr_gid;
	}
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
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

int
daemon_pidfile_write(const char *path)
{
	char buf[32];
	pid_t old = daemon_pidfile_read(path);
	int fd, len;

	if (old > 0 && old != getpid() && kill(old, 0) == 0)
		return DAEMON_ERUNNING;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return DAEMON_EPIDFILE;
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
	case DAEMON_EUSER: return "no such user or group";
	case DAEMON_EPRIV: return "cannot switch user and group";
	case DAEMON_EPIDFILE: return "cannot write the pid file";
	case DAEMON_ERUNNING: return "another instance is running (its pid is in the pid file)";
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
