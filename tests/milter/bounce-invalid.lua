-- Expired, forged (bad MAC), unknown-key and malformed tags are rejected for bounces.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.12")
mail(conn, "<>", "QINVALID")
check(rcpt(conn, "<" .. expired .. ">") == SMFIR_REPLYCODE, "expired tag not rejected")
check(rcpt(conn, "<" .. badmac .. ">") == SMFIR_REPLYCODE, "bad MAC not rejected")
check(rcpt(conn, "<" .. unknown .. ">") == SMFIR_REPLYCODE, "unknown key not rejected")
check(rcpt(conn, "<prvs=12=alice@example.com>") == SMFIR_REPLYCODE, "malformed tag not rejected")
mt.disconnect(conn)
