/* srs-serve: "srs-rewrite serve", the SRS lookup daemon for Postfix socketmap: and tcp:
 * maps. It joins mapserver (protocols) to lookup (the answers), logs what lookup says to,
 * and owns the daemon's life cycle. */
#ifndef BACKSTOP_SRS_SERVE_H
#define BACKSTOP_SRS_SERVE_H

#include <stdio.h>

/* srs_serve - run the server; argv[0] is "serve"; returns an exit status (0, 1, 2 usage) */
int srs_serve(const char *conf_path, int argc, char **argv);
/* srs_serve_options - print the option lines of serve's usage to fp */
void srs_serve_options(FILE *fp);

#endif
