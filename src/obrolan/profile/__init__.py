"""Profiles (F1): gender, date of birth, bio, language and photo, each shown as its owner chooses.

`rules` decides who sees what, `fields` opens and seals a profile inside an accounts
transaction, `service` holds the photo actions and `photos` the image work.
"""
