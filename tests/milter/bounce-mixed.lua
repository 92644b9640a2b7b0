-- One bounce, two recipients: the validly tagged one is accepted and stripped,
-- the unsigned one rejected.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.15")
mail(conn, "<>", "QMIXED")
check(rcpt(conn, "<carol@example.com>") == SMFIR_REPLYCODE, "unsigned recipient not rejected")
check(rcpt(conn, "<" .. valid2 .. ">") == SMFIR_CONTINUE, "valid recipient refused")
check(finish(conn) == SMFIR_CONTINUE, "eom")
check(mt.eom_check(conn, MT_RCPTDELETE, "<" .. valid2 .. ">"), "tagged recipient not deleted")
check(mt.eom_check(conn, MT_RCPTADD, "<dave@example.com>"), "plain recipient not added")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<carol@example.com>"), "rejected one touched")
mt.disconnect(conn)
