-- common.lua: helpers shared by the miltertest scripts. run.sh passes the milter's socket
-- and the addresses to use as -D variables (sock, valid, expired, badmac, unknown, ...).

function check(cond, what)
	if not cond then
		error(what, 2)
	end
end

-- open a connection from ip (inbound unless ip is internal) and announce the client
function open(ip, macros)
	local conn = mt.connect(sock, 40, 0.05)
	check(conn, "cannot connect to the milter at " .. sock)
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.com", "{daemon_name}", "smtpd")
	check(mt.conninfo(conn, "client.example.net", ip) == nil, "conninfo failed")
	return conn
end

-- start a message: sender, then macros of MAIL (queue id, auth)
function mail(conn, sender, qid, authen)
	if authen then
		mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_authen}", authen)
	else
		mt.macro(conn, SMFIC_MAIL, "i", qid)
	end
	check(mt.mailfrom(conn, sender) == nil, "mailfrom failed")
end

-- one recipient; returns the milter's reply code
function rcpt(conn, addr)
	check(mt.rcptto(conn, addr) == nil, "rcptto " .. addr .. " failed")
	return mt.getreply(conn)
end

-- headers and end of message; returns the reply. The milter negotiates EOH and the body
-- away (it needs neither), and miltertest refuses to send steps that were negotiated away.
function finish(conn, extra_headers)
	check(mt.header(conn, "From", "someone@example.org") == nil, "header From failed")
	check(mt.header(conn, "Subject", "test") == nil, "header Subject failed")
	for _, h in ipairs(extra_headers or {}) do
		check(mt.header(conn, h[1], h[2]) == nil, "header " .. h[1] .. " failed")
	end
	check(mt.eom(conn) == nil, "eom failed")
	return mt.getreply(conn)
end
