-- After backstop-keys revoke 0 (run.sh): a bounce to a tag of the revoked key is refused at
-- RCPT, one to a tag of the key that replaced it (newtag) is accepted, without a restart.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.10")
mail(conn, "<>", "QREVOKED")
check(rcpt(conn, "<" .. valid .. ">") == SMFIR_REPLYCODE, "tag of the revoked key accepted")
mt.disconnect(conn)
conn = open("192.0.2.10")
mail(conn, "<>", "QREVOKED2")
check(rcpt(conn, "<" .. newtag .. ">") == SMFIR_CONTINUE, "tag of the new key refused")
mt.disconnect(conn)
