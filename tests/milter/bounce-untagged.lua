-- An inbound bounce to an unsigned address of ours is rejected at RCPT (550 5.7.1).
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.10")
mail(conn, "<>", "QUNTAGGED")
check(rcpt(conn, "<alice@example.com>") == SMFIR_REPLYCODE, "untagged bounce not rejected")
-- the same bounce to a domain that is not ours is none of our business
check(rcpt(conn, "<bob@elsewhere.example>") == SMFIR_CONTINUE, "foreign recipient refused")
-- spellings the MTA still delivers to alice: a root dot, no domain, and one that does not
-- parse at all but is in our domain
check(rcpt(conn, "<alice@example.com.>") == SMFIR_REPLYCODE, "alice@example.com. not rejected")
check(rcpt(conn, "<alice>") == SMFIR_REPLYCODE, "unqualified alice not rejected")
check(rcpt(conn, "<x..y@example.com>") == SMFIR_REPLYCODE, "unparsable address of ours not rejected")
check(rcpt(conn, "<x..y@elsewhere.example>") == SMFIR_CONTINUE, "unparsable foreign address refused")
-- only the steps it needs were negotiated: no EOH, no body, no HELO
local ok, err = pcall(mt.eoh, conn)
check(not ok and string.find(err, "SMFIP_NOEOH", 1, true), "EOH was not negotiated away")
ok, err = pcall(mt.bodystring, conn, "body\r\n")
check(not ok and string.find(err, "SMFIP_NOBODY", 1, true), "the body was not negotiated away")
mt.disconnect(conn)
