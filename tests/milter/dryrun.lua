-- With DryRun nothing is refused, but the verdict header is added.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.18")
mail(conn, "<>", "QDRY")
check(rcpt(conn, "<alice@example.com>") == SMFIR_CONTINUE, "DryRun rejected an untagged bounce")
check(rcpt(conn, "<" .. badmac .. ">") == SMFIR_CONTINUE, "DryRun rejected a forged tag")
mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "local")
check(rcpt(conn, "<alice%mail.example.org@localhost>") == SMFIR_CONTINUE,
	"DryRun rejected an unjudgeable routed bounce")
check(finish(conn) == SMFIR_CONTINUE, "eom")
local h = mt.getheader(conn, "X-Backstop", 0)
check(h ~= nil and string.find(h, "untagged", 1, true) and string.find(h, "badmac", 1, true),
	"header does not give the verdicts: " .. tostring(h))
mt.disconnect(conn)
