-- An inbound bounce to an unsigned address of ours is rejected at RCPT (550 5.7.1).
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.10")
mail(conn, "<>", "QUNTAGGED")
check(rcpt(conn, "<alice@example.com>") == SMFIR_REPLYCODE, "untagged bounce not rejected")
-- the same bounce to a domain that is not ours is none of our business
check(rcpt(conn, "<bob@elsewhere.example>") == SMFIR_CONTINUE, "foreign recipient refused")
-- only the steps it needs were negotiated: no EOH, no body, no HELO
local ok, err = pcall(mt.eoh, conn)
check(not ok and string.find(err, "SMFIP_NOEOH", 1, true), "EOH was not negotiated away")
ok, err = pcall(mt.bodystring, conn, "body\r\n")
check(not ok and string.find(err, "SMFIP_NOBODY", 1, true), "the body was not negotiated away")
mt.disconnect(conn)
