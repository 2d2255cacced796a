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

// Numerics of the channel, operator and IRCv3 commands.
const (
	rplAway             = "301" // RPL_AWAY
	rplWhoisOperator    = "313" // RPL_WHOISOPERATOR
	rplWhoisAccount     = "330" // RPL_WHOISACCOUNT (not in the RFCs; every modern ircd)
	rplTopic            = "332" // RPL_TOPIC
	rplTopicWhoTime     = "333" // RPL_TOPICWHOTIME (not in the RFCs; every modern ircd)
	rplCreationTime     = "329" // RPL_CREATIONTIME (not in the RFCs; every modern ircd)
	errInvalidModeParam = "696" // ERR_INVALIDMODEPARAM (modern IRC)
	rplInviting         = "341" // RPL_INVITING
	rplWhowasUser       = "314" // RPL_WHOWASUSER
	rplEndOfWhowas      = "369" // RPL_ENDOFWHOWAS
	errWasNoSuchNick    = "406" // ERR_WASNOSUCHNICK
	rplBanList          = "367" // RPL_BANLIST
	rplInfo             = "371" // RPL_INFO
	rplEndOfInfo        = "374" // RPL_ENDOFINFO
	rplYoureOper        = "381" // RPL_YOUREOPER
	rplTime             = "391" // RPL_TIME
	rplLuserClient      = "251" // RPL_LUSERCLIENT
	rplLuserOp          = "252" // RPL_LUSEROP
	rplLuserUnknown     = "253" // RPL_LUSERUNKNOWN
	rplLuserChannels    = "254" // RPL_LUSERCHANNELS
	rplLuserMe          = "255" // RPL_LUSERME
	rplLocalUsers       = "265" // RPL_LOCALUSERS
	rplGlobalUsers      = "266" // RPL_GLOBALUSERS
	errTooManyChannels  = "405" // ERR_TOOMANYCHANNELS
	errUserNotInChannel = "441" // ERR_USERNOTINCHANNEL
	errUserOnChannel    = "443" // ERR_USERONCHANNEL
	errChannelIsFull    = "471" // ERR_CHANNELISFULL
	errUnknownMode      = "472" // ERR_UNKNOWNMODE
	errInviteOnlyChan   = "473" // ERR_INVITEONLYCHAN
	errBannedFromChan   = "474" // ERR_BANNEDFROMCHAN
	errBadChannelKey    = "475" // ERR_BADCHANNELKEY
	errNoPrivileges     = "481" // ERR_NOPRIVILEGES
	errUModeUnknownFlag = "501" // ERR_UMODEUNKNOWNFLAG
	rplLoggedIn         = "900" // RPL_LOGGEDIN (IRCv3 SASL)
	rplSASLSuccess      = "903" // RPL_SASLSUCCESS
	errSASLFail         = "904" // ERR_SASLFAIL
	errSASLTooLong      = "905" // ERR_SASLTOOLONG
	errSASLAborted      = "906" // ERR_SASLABORTED
	errSASLAlready      = "907" // ERR_SASLALREADY
	rplSASLMechs        = "908" // RPL_SASLMECHS
)
