-- MaxBouncesPerTag (3 in the test configuration) bounces to one tag are accepted;
-- the next is a replay and is rejected, however the tag is spelled (upper case, a root dot).
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.13")
for i = 1, 3 do
	mail(conn, "<>", "QREPLAY" .. i)
	check(rcpt(conn, "<" .. replaytag .. ">") == SMFIR_CONTINUE, "bounce " .. i .. " refused")
	check(finish(conn) == SMFIR_CONTINUE, "eom " .. i)
end
mail(conn, "<>", "QREPLAY4")
check(rcpt(conn, "<" .. replaytag .. ">") == SMFIR_REPLYCODE, "4th bounce not rejected")
mt.disconnect(conn)
conn = open("192.0.2.13")
mail(conn, "<>", "QREPLAY5")
check(rcpt(conn, "<" .. string.upper(replaytag) .. ".>") == SMFIR_REPLYCODE,
    "4th bounce, spelled in upper case with a root dot, not rejected")
mt.disconnect(conn)
-- the same tag routed through the % hack or a bang path to localhost: the same record
local tagged_local = string.gsub(replaytag, "@example%.com$", "")
for i, to in ipairs({ tagged_local .. "%example.com@localhost",
    "example.com!" .. tagged_local .. "@localhost",
    string.upper(tagged_local) .. "%EXAMPLE.COM@MX.EXAMPLE.COM" }) do
	conn = open("192.0.2.13")
	mail(conn, "<>", "QREPLAYR" .. i)
	check(rcpt(conn, "<" .. to .. ">") == SMFIR_REPLYCODE,
	    "replay as " .. to .. " not rejected")
	mt.disconnect(conn)
end
