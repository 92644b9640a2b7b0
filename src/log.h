/* log: one logging API for every program, to syslog or to stderr.
 * The only library module that writes anything; mains decide what to say. */
#ifndef BACKSTOP_LOG_H
#define BACKSTOP_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* log_open - choose syslog (with facility) or stderr, and the most verbose level shown */
void log_open(const char *ident, bool use_syslog, int facility, int level);
/* log_msg - one line at priority prio (LOG_ERR ... LOG_DEBUG) */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_restart_needed - a warning per restart-only setting in changes (conf_fixed_changes)
 * that a reload of the file at path cannot apply */
void log_restart_needed(unsigned changes, const char *path);
/* log_warnings - each line of text as a warning about the file at path: on stderr as
 * "prog: warning: path: line" (for -n), else in the log */
void log_warnings(const char *prog, bool to_stderr, const char *path, const char *text);
/* log_facility_parse - "mail", "local0".. to LOG_*, or -1 */
int log_facility_parse(const char *name);
/* log_level_parse - "err", "warning", "notice", "info", "debug" to LOG_*, or -1 */
int log_level_parse(const char *name);

#endif
