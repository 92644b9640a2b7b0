/* keyfile: the key store's files on disk (keys/README.md): K.key parse and format,
 * the "created" record, permission checks and atomic writes. Codes are keyfile_err values
 * (equal to the keyring_err codes of the same name, so the keyring passes them on); every
 * failure also fills why with the file's name and what is wrong. */
#ifndef BACKSTOP_KEYFILE_H
#define BACKSTOP_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* A store's slots and key size (keyring.c checks that they equal KEYRING_SLOTS/KEY_BYTES). */
#define KEYFILE_SLOTS 10
#define KEYFILE_KEY_BYTES 32
/* The daemons' user when there is none (KEYFILE_NO_USER). */
#define KEYFILE_NO_USER ((uid_t)-1)

enum keyfile_err {
	KEYFILE_OK = 0,
	KEYFILE_ENOMEM = -1,	/* temporary */
	KEYFILE_EIO = -2,	/* temporary: read or write failed */
	KEYFILE_EPERM = -3,	/* permanent: unsafe permissions */
	KEYFILE_ECORRUPT = -4,	/* permanent: a file does not parse */
	KEYFILE_ENODIR = -5,	/* permanent: the key directory does not exist */
	KEYFILE_ESLOT = -6,	/* permanent: bad slot number */
};

/* Largest key or creation file accepted; real ones are under 100 bytes. */
#define KEYFILE_MAX 4096
/* The creation record's file name in the key directory. */
#define KEYFILE_CREATED "created"
/* The first line of an exported key file, before its slot digit; the parser skips it. */
#define KEYFILE_SLOT_COMMENT "# backstop key, slot "
/* Room for a formatted key file. */
#define KEYFILE_TEXT_MAX 128
/* Owner ids meaning "leave as created". */
#define KEYFILE_KEEP_UID ((uid_t)-1)
#define KEYFILE_KEEP_GID ((gid_t)-1)

/* keyfile_why - format a message into why (if given) and return rc, for error paths */
int keyfile_why(int rc, char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* keyfile_parse - parse key file text (name is for messages) into secret and activate */
int keyfile_parse(const char *text, size_t len, const char *name,
    unsigned char secret[KEYFILE_KEY_BYTES], time_t *activate, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* keyfile_format - write a key file's text into buf; its length, or KEYFILE_ENOMEM */
int keyfile_format(const unsigned char secret[KEYFILE_KEY_BYTES], time_t activate, char *buf,
    size_t size);
/* keyfile_format_slot - as keyfile_format, naming slot (0-9; -1: none) in the first comment */
int keyfile_format_slot(const unsigned char secret[KEYFILE_KEY_BYTES], time_t activate, int slot,
    char *buf, size_t size);
/* keyfile_slot_named - the slot a KEYFILE_SLOT_COMMENT line names into *slot, -1 if none */
int keyfile_slot_named(const char *text, size_t len, const char *name, int *slot, char *why,
    size_t whylen) __attribute__((warn_unused_result));
/* keyfile_path - dir/K.key into buf; 0 or KEYFILE_ESLOT/KEYFILE_ENOMEM */
int keyfile_path(const char *dir, int slot, char *buf, size_t size);
/* keyfile_check_dir - dir exists, is a directory, only its owner can write it, and that owner
 * is root, this process's user or user (the daemons', KEYFILE_NO_USER: none); the same owner
 * rule holds for every file read below */
int keyfile_check_dir(const char *dir, uid_t user, char *why, size_t whylen)
    __attribute__((warn_unused_result));
/* keyfile_read - read slot's file; *present is false (and 0 returned) when there is none */
int keyfile_read(const char *dir, uid_t user, int slot, unsigned char secret[KEYFILE_KEY_BYTES],
    time_t *activate, bool *present, char *why, size_t whylen) __attribute__((warn_unused_result));
/* keyfile_read_created - the store's creation time; 0 when the record is absent */
int keyfile_read_created(const char *dir, uid_t user, time_t *created, char *why, size_t whylen)
    __attribute__((warn_unused_result));
/* keyfile_mkdir - create dir with mode 0700 (and owner) unless it exists */
int keyfile_mkdir(const char *dir, uid_t uid, gid_t gid, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* keyfile_write - atomically replace dir/name with text: temp file, fsync, rename, dir fsync;
 * owned by uid/gid, or with KEYFILE_KEEP_UID/GID by the directory's owner and group */
int keyfile_write(const char *dir, const char *name, const void *text, size_t len, mode_t mode,
    uid_t uid, gid_t gid, char *why, size_t whylen) __attribute__((warn_unused_result));
/* keyfile_write_key - atomically write slot's key file, mode 0600 (0640 in a 0750 directory) */
int keyfile_write_key(const char *dir, int slot, const unsigned char secret[KEYFILE_KEY_BYTES],
    time_t activate, uid_t uid, gid_t gid, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* keyfile_write_created - atomically write the creation record, mode 0644 */
int keyfile_write_created(const char *dir, time_t created, uid_t uid, gid_t gid, char *why,
    size_t whylen) __attribute__((warn_unused_result));
/* keyfile_remove - delete slot's key file and sync the directory (absent is success) */
int keyfile_remove(const char *dir, int slot, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* keyfile_strerror - text for a keyfile_err code */
const char *keyfile_strerror(int err);

#endif
