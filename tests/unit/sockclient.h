/* sockclient.h: the raw-socket client side of the tests that talk to our servers
 * (test-mapserver, test-serve, srs-hostile, milter/hostile): connect, and send it all. */
#ifndef BACKSTOP_TESTS_SOCKCLIENT_H
#define BACKSTOP_TESTS_SOCKCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

/* sc_unix - a connection to the unix socket at path; -1 if none */
static inline int
sc_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* sc_send_all - all len bytes, or false; never SIGPIPE */
static inline bool
sc_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

#endif
