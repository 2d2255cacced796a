package irc

// The numeric replies this server sends, under their names in RFC 1459 and
// RFC 2812 (or, for the few those lack, the name common ircds give them).

const (
	rplWelcome       = "001" // RPL_WELCOME
	rplYourHost      = "002" // RPL_YOURHOST
	rplCreated       = "003" // RPL_CREATED
	rplMyInfo        = "004" // RPL_MYINFO
	rplISupport      = "005" // RPL_ISUPPORT
	rplUModeIs       = "221" // RPL_UMODEIS
	rplUserHost      = "302" // RPL_USERHOST
	rplIsOn          = "303" // RPL_ISON
	rplUnAway        = "305" // RPL_UNAWAY
	rplNowAway       = "306" // RPL_NOWAWAY
	rplWhoisUser     = "311" // RPL_WHOISUSER
	rplWhoisServer   = "312" // RPL_WHOISSERVER
	rplEndOfWho      = "315" // RPL_ENDOFWHO
	rplEndOfWhois    = "318" // RPL_ENDOFWHOIS
	rplWhoisChannels = "319" // RPL_WHOISCHANNELS
	rplListStart     = "321" // RPL_LISTSTART
	rplList          = "322" // RPL_LIST
	rplListEnd       = "323" // RPL_LISTEND
	rplChannelModeIs = "324" // RPL_CHANNELMODEIS
	rplNoTopic       = "331" // RPL_NOTOPIC
	rplVersion       = "351" // RPL_VERSION
	rplWhoReply      = "352" // RPL_WHOREPLY
	rplNamReply      = "353" // RPL_NAMREPLY
	rplEndOfNames    = "366" // RPL_ENDOFNAMES
	rplEndOfBanList  = "368" // RPL_ENDOFBANLIST
	rplMotd          = "372" // RPL_MOTD
	rplMotdStart     = "375" // RPL_MOTDSTART
	rplEndOfMotd     = "376" // RPL_ENDOFMOTD

	errNoSuchNick        = "401" // ERR_NOSUCHNICK
	errNoSuchChannel     = "403" // ERR_NOSUCHCHANNEL
	errCannotSendToChan  = "404" // ERR_CANNOTSENDTOCHAN
	errTooManyTargets    = "407" // ERR_TOOMANYTARGETS
	errNoOrigin          = "409" // ERR_NOORIGIN
	errInvalidCapCmd     = "410" // ERR_INVALIDCAPCMD (IRCv3 capability negotiation)
	errNoRecipient       = "411" // ERR_NORECIPIENT
	errNoTextToSend      = "412" // ERR_NOTEXTTOSEND
	errInputTooLong      = "417" // ERR_INPUTTOOLONG (modern IRC; not in the RFCs)
	errUnknownCommand    = "421" // ERR_UNKNOWNCOMMAND
	errNoNicknameGiven   = "431" // ERR_NONICKNAMEGIVEN
	errErroneusNickname  = "432" // ERR_ERRONEUSNICKNAME (the RFCs' spelling)
	errNicknameInUse     = "433" // ERR_NICKNAMEINUSE
	errNotOnChannel      = "442" // ERR_NOTONCHANNEL
	errNoNickChange      = "447" // ERR_NONICKCHANGE (UnrealIRCd; not in the RFCs)
	errNotRegistered     = "451" // ERR_NOTREGISTERED
	errNeedMoreParams    = "461" // ERR_NEEDMOREPARAMS
	errAlreadyRegistered = "462" // ERR_ALREADYREGISTRED in the RFCs
	errPasswdMismatch    = "464" // ERR_PASSWDMISMATCH
	errBadChanName       = "479" // ERR_BADCHANNAME (Hybrid, ircu; not in the RFCs)
	errChanOPrivsNeeded  = "482" // ERR_CHANOPRIVSNEEDED
	errUsersDontMatch    = "502" // ERR_USERSDONTMATCH
)
