-- The replay store's database file is corrupt (run.sh): phase "broken", before the repair,
-- a bounce to a valid tag gets OnInternalError (tempfail), an untagged bounce is still
-- refused, and outbound mail is signed but, its Message-ID unrecordable, gets
-- OnInternalError too (RecordSent no would send it unrecorded); phase "repaired", after backstop-replay salvage and
-- SIGUSR1, the bounce is accepted again.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.15")
if phase == "broken" then
	mail(conn, "<>", "QCORRUPT1")
	check(rcpt(conn, "<" .. valid .. ">") == SMFIR_REPLYCODE,
	    "bounce to a valid tag accepted without a store")
	mt.disconnect(conn)
	conn = open("192.0.2.15")
	mail(conn, "<>", "QCORRUPT2")
	check(rcpt(conn, "<alice@example.com>") == SMFIR_REPLYCODE, "untagged bounce accepted")
	mt.disconnect(conn)
	conn = open("127.0.0.1")
	mail(conn, "<alice@example.com>", "QCORRUPT3")
	check(rcpt(conn, "<bob@other.example>") == SMFIR_CONTINUE, "outbound recipient refused")
	check(finish(conn, { { "Message-ID", "<corrupt3@example.com>" } }) == SMFIR_REPLYCODE,
	    "outbound mail accepted though its Message-ID could not be recorded")
else
	mail(conn, "<>", "QCORRUPT4")
	check(rcpt(conn, "<" .. valid .. ">") == SMFIR_CONTINUE, "bounce refused after the repair")
	check(finish(conn) == SMFIR_CONTINUE, "eom after the repair")
end
mt.disconnect(conn)
