-- Ordinary mail (not a bounce) to a tagged address is accepted and stripped; forged
-- X-Backstop headers that came in with it are removed.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.16")
mail(conn, "<friend@other.example>", "QMAIL")
check(rcpt(conn, "<" .. valid .. ">") == SMFIR_CONTINUE, "mail to tag refused")
check(rcpt(conn, "<" .. expired .. ">") == SMFIR_CONTINUE, "mail to expired tag refused")
check(rcpt(conn, "<alice@example.com>") == SMFIR_CONTINUE, "plain mail refused")
check(finish(conn, { { "X-Backstop", "valid (forged)" }, { "X-Backstop", "again" } }) ==
	SMFIR_CONTINUE, "eom")
check(mt.eom_check(conn, MT_RCPTDELETE, "<" .. valid .. ">"), "tag not stripped")
check(mt.eom_check(conn, MT_RCPTADD, "<alice@example.com>"), "plain recipient not added")
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Backstop") or
	mt.eom_check(conn, MT_HDRDELETE, "X-Backstop"), "forged header not removed")
mt.disconnect(conn)
