/* tsv.h: read the known-answer vector files, one row of tab-separated fields at a time.
 * The header line names the columns; tsv_col() finds a column by name. */
#ifndef BACKSTOP_TSV_H
#define BACKSTOP_TSV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TSV_MAXCOLS 16
#define TSV_MAXLINE 4096

struct tsv {
	FILE *fp;
	int ncols;
	char head[TSV_MAXLINE];
	char *names[TSV_MAXCOLS];
	char line[TSV_MAXLINE];
	char *field[TSV_MAXCOLS];
	int lineno;
};

static inline int
tsv_split(char *s, char **out)
{
	int n = 0;

	s[strcspn(s, "\r\n")] = '\0';
	out[n++] = s;
	while (n < TSV_MAXCOLS && (s = strchr(s, '\t')) != NULL) {
		*s++ = '\0';
		out[n++] = s;
	}
	return n;
}

/* tsv_open - open VECTORS_DIR/name and read its header; exits on failure */
static inline void
tsv_open(struct tsv *t, const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, name);
	memset(t, 0, sizeof(*t));
	t->fp = fopen(path, "r");
	if (t->fp == NULL || fgets(t->head, sizeof(t->head), t->fp) == NULL) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	t->ncols = tsv_split(t->head, t->names);
	t->lineno = 1;
}

/* tsv_next - read the next row; 0 at end of file */
static inline int
tsv_next(struct tsv *t)
{
	while (fgets(t->line, sizeof(t->line), t->fp) != NULL) {
		t->lineno++;
		if (t->line[0] == '\n' || t->line[0] == '\0')
			continue;
		if (tsv_split(t->line, t->field) != t->ncols) {
			printf("Bail out! line %d has the wrong number of fields\n", t->lineno);
			exit(1);
		}
		return 1;
	}
	return 0;
}

/* tsv_col - the field of the current row under column name; exits if no such column */
static inline const char *
tsv_col(const struct tsv *t, const char *name)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->names[i], name) == 0)
			return t->field[i];
	printf("Bail out! no column %s\n", name);
	exit(1);
}

static inline void
tsv_close(struct tsv *t)
{
	fclose(t->fp);
}

/* hex_decode - decode 2*n hex digits into n bytes; 0 on success */
static inline int
hex_decode(const char *hex, unsigned char *out, size_t n)
{
	size_t i;

	if (strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

#endif
