-- An inbound bounce to an unsigned address of ours is rejected at RCPT (550 5.7.1) with
-- UntaggedBounceDecision rcpt.
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
-- EOH and the body are negotiated (replies are judged by their content) and a body with
-- nothing to look for is skipped at once
check(mt.eoh(conn) == nil, "EOH was not taken")
check(mt.bodystring(conn, "body\r\n") == nil, "the body was not taken")
check(mt.getreply(conn) == SMFIR_SKIP, "a body nothing needs was not skipped")
mt.disconnect(conn)
