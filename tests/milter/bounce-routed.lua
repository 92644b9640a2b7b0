-- Spellings the MTA rewrites before delivery (the % hack, bang paths, source routes, its own
-- names and address literals) are judged as the address it will deliver to. j is
-- mx.example.com (common.lua); {daemon_addr} is 192.0.2.25.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.19")
mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.com", "{daemon_addr}", "192.0.2.25")
mail(conn, "<>", "QROUTED")
for _, to in ipairs({ "alice%example.com@localhost", "example.com!alice@localhost",
    "alice%example.com@mx.example.com", "ALICE%EXAMPLE.COM@LOCALHOST",
    "alice%example.com@MX.example.com.", "alice%example.com@[127.0.0.1]",
    "alice%example.com@[192.0.2.25]", "@hop.example.org:alice%example.com@localhost",
    "alice%example.com%localhost@localhost", "localhost!example.com!alice@localhost",
    "alice%example.com@localhost.example.com" }) do
	check(rcpt(conn, "<" .. to .. ">") == SMFIR_REPLYCODE, to .. " not rejected")
end
-- routed to a domain that is not ours, or the MTA's own names as written (a sender there is
-- not in Domains, never signed, and its bounces must pass): none of our business
check(rcpt(conn, "<alice@localhost>") == SMFIR_CONTINUE, "alice@localhost refused")
check(rcpt(conn, "<alice@mx.example.com>") == SMFIR_CONTINUE, "alice@mx.example.com refused")
check(rcpt(conn, "<bob%elsewhere.example@localhost>") == SMFIR_CONTINUE,
    "bob%elsewhere.example@localhost refused")
check(rcpt(conn, "<alice%example.com@relay.example.org>") == SMFIR_CONTINUE,
    "alice%example.com@relay.example.org refused without the MTA saying more")
-- the MTA's {rcpt_addr} says where it resolved a spelling we cannot see through
mail(conn, "<>", "QROUTED2")
mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "alice@example.com", "{rcpt_host}", "example.com",
    "{rcpt_mailer}", "virtual")
check(rcpt(conn, "<alice%example.com@relay.example.org>") == SMFIR_REPLYCODE,
    "resolved by the MTA to alice@example.com, not rejected")
-- routed through a local name to a domain the MTA delivers locally but is not in Domains:
-- which mailbox it reaches cannot be judged, so a bounce to it is refused
mail(conn, "<>", "QROUTED3")
mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "alice@mail.example.org", "{rcpt_host}",
    "mx.example.com", "{rcpt_mailer}", "local")
check(rcpt(conn, "<alice%mail.example.org@localhost>") == SMFIR_REPLYCODE,
    "an unjudgeable routed bounce not rejected")
-- but a plain address in a local domain missing from Domains is still none of ours
check(rcpt(conn, "<root@mail.example.org>") == SMFIR_CONTINUE, "root@mail.example.org refused")
-- and mail that is not a bounce is never refused for any of this
mail(conn, "<bob@other.example>", "QROUTED4")
mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "alice@mail.example.org", "{rcpt_host}",
    "mx.example.com", "{rcpt_mailer}", "local")
check(rcpt(conn, "<alice%mail.example.org@localhost>") == SMFIR_CONTINUE,
    "ordinary mail to an unjudgeable spelling refused")
check(rcpt(conn, "<alice%example.com@localhost>") == SMFIR_CONTINUE,
    "ordinary mail to alice%example.com@localhost refused")
check(finish(conn) == SMFIR_CONTINUE, "eom of ordinary mail")
mt.disconnect(conn)
