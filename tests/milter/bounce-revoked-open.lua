-- A session opened before backstop-keys revoke (run.sh) must not keep the revoked key: the
-- first bounce to valid2 (slot 0) is accepted, then the script waits on this connection until
-- run.sh has revoked slot 0, seen the milter reload and created the flag file; the second
-- bounce on the same connection, to the same tag, is refused.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.14")
mail(conn, "<>", "QOPEN1")
check(rcpt(conn, "<" .. valid2 .. ">") == SMFIR_CONTINUE, "bounce before the revocation refused")
check(finish(conn) == SMFIR_CONTINUE, "eom before the revocation")
local tries = 0
while true do
	local f = io.open(flag, "r")
	if f then f:close() break end
	tries = tries + 1
	check(tries < 600, "no flag file " .. flag .. " after 30 s")
	mt.sleep(0.05)
end
mail(conn, "<>", "QOPEN2")
check(rcpt(conn, "<" .. valid2 .. ">") == SMFIR_REPLYCODE,
    "tag of the revoked key accepted on a session opened before the revocation")
mt.disconnect(conn)
