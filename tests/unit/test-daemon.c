/* test-daemon: UserID as daemon_user reads it, by name or by number (backstop.conf(5)), each
 * half on its own; and daemon_syslog_check on a socket that answers, one that does not, and a
 * missing path. Reads the system's own user database: root and nobody exist everywhere. */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "tap.h"

/* unused_id - a uid and gid with no passwd or group entry */
static long
unused_id(void)
{
	long id;

	for (id = 4242; id < 60000; id++)
		if (getpwuid((uid_t)id) == NULL && getgrgid((gid_t)id) == NULL &&
		    getgrgid((gid_t)id + 1) == NULL)
			return id;
	bail_out("no unused uid");
}

/* user_is - daemon_user on spec gives uid and gid */
static void
user_is(const char *spec, long uid, long gid)
{
	uid_t u = (uid_t)-2;
	gid_t g = (gid_t)-2;
	int rc = daemon_user(spec, &u, &g);

	is_int(rc, DAEMON_OK, "UserID %s resolves", spec);
	is_int((long long)u, uid, "UserID %s: uid %ld", spec, uid);
	is_int((long long)g, gid, "UserID %s: gid %ld", spec, gid);
}

/* user_refused - daemon_user refuses spec */
static void
user_refused(const char *spec)
{
	uid_t u;
	gid_t g;

	is_int(daemon_user(spec, &u, &g), DAEMON_EUSER, "UserID '%s' is refused", spec);
}

static void
test_users(void)
{
	const struct passwd *pw = getpwnam("nobody");
	char spec[64];
	long nid, ngid, free_id = unused_id();

	if (pw == NULL)
		bail_out("no user nobody");
	nid = (long)pw->pw_uid;
	ngid = (long)pw->pw_gid;
	user_is("nobody", nid, ngid);
	user_is("root", 0, 0);
	user_is("0", 0, 0);
	snprintf(spec, sizeof(spec), "%ld", nid);
	user_is(spec, nid, ngid);	/* a number: its passwd entry's group */
	snprintf(spec, sizeof(spec), "%ld:%ld", nid, ngid);
	user_is(spec, nid, ngid);
	snprintf(spec, sizeof(spec), "nobody:%ld", ngid);
	user_is(spec, nid, ngid);
	snprintf(spec, sizeof(spec), "%ld:0", nid);
	user_is(spec, nid, 0);
	user_is("nobody:root", nid, 0);
	/* numbers the databases do not know: systemd's DynamicUser, a container's ids */
	snprintf(spec, sizeof(spec), "%ld:%ld", free_id, free_id + 1);
	user_is(spec, free_id, free_id + 1);
	snprintf(spec, sizeof(spec), "%ld", free_id);
	user_refused(spec);	/* no entry, so no group to take: name one */
	user_refused("no-such-user");
	user_refused("nobody:no-such-group");
	user_refused("12abc");
	user_refused("-1");
	user_refused("99999999999999999999");
	user_refused("");
	user_refused(":0");
	user_refused("nobody:");
}

/* listen_at - a unix socket bound and listening at path, or -1 */
static int
listen_at(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0)
		return -1;
	return fd;
}

static void
test_syslog(void)
{
	char dir[] = "/tmp/backstop-daemon.XXXXXX", path[64];
	int fd;

	if (mkdtemp(dir) == NULL)
		bail_out("mkdtemp");
	snprintf(path, sizeof(path), "%s/log", dir);
	is_int(daemon_syslog_check(path), DAEMON_ENOSYSLOG, "no socket at the path: ENOSYSLOG");
	fd = listen_at(path);
	if (fd < 0)
		bail_out("bind");
	is_int(daemon_syslog_check(path), DAEMON_OK, "a datagram socket that receives: OK");
	close(fd);	/* the file stays, nothing receives: what a stopped journald leaves */
	is_int(daemon_syslog_check(path), DAEMON_ENOSYSLOG, "a stale socket file: ENOSYSLOG");
	unlink(path);
	rmdir(dir);
	ok(strstr(daemon_strerror(DAEMON_ENOSYSLOG), "/dev/log") != NULL, "ENOSYSLOG names /dev/log");
}

int
main(void)
{
	test_users();
	test_syslog();
	return done_testing();
}
