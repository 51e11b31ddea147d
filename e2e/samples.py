"""Inputs shared by several journeys (from /work/shared/cases).

Written with escapes so that no editor can normalise them behind our back.
"""

from __future__ import annotations

#: C08: two emoji, a ZWJ sequence, a combining accent, CJK and a tab.
C08_MESSAGE = (
    "\U0001f387\U0001f387 \U0001f469\u200d\u2695\ufe0f e\u0301 \u4e2d\u6587 \t end"
)

#: The brief's file name: accents, a space and an emoji (NFC already).
FRENCH_NAME = "Compte-rendu op\u00e9ratoire \u00e9 \U0001f916.pdf"

#: A French message with a line break, accents and a dash.
FRENCH_MESSAGE = (
    "Bonjour Docteur,\nvoici le compte-rendu op\u00e9ratoire de lundi, "
    "\u00e0 relire avant la r\u00e9union. Merci \u2014 \u00c9lodie"
)
