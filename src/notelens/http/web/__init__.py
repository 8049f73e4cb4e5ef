"""The web page at `/` (`routes`), and the signed tokens that open it (`tokens`): the bot's
/web link and the page's session cookie. Kept light: the bot imports `tokens` only."""
