-- A bounce to a validly signed address is accepted; at EOM the tagged recipient is
-- deleted, the plain one added, and the verdict header added.
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.11")
mail(conn, "<>", "QVALID")
check(rcpt(conn, "<" .. valid .. ">") == SMFIR_CONTINUE, "valid bounce refused")
check(finish(conn) == SMFIR_CONTINUE, "eom not continue")
check(mt.eom_check(conn, MT_RCPTDELETE, "<" .. valid .. ">"), "tagged recipient not deleted")
check(mt.eom_check(conn, MT_RCPTADD, "<alice@example.com>"), "plain recipient not added")
check(mt.eom_check(conn, MT_HDRADD, "X-Backstop"), "no X-Backstop header")
local h = mt.getheader(conn, "X-Backstop", 0)
check(h ~= nil and string.find(h, "valid", 1, true), "header does not say valid: " .. tostring(h))
mt.disconnect(conn)
