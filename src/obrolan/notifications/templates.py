"""The texts of obrolan's mail and SMS, in English and Indonesian (string.Template).

Every template is named, has both languages, and says whether it is essential: codes
and security alerts are (they carry no unsubscribe link, F16 covers the rest).
Parameters are escaped for the HTML part; the text part takes them as they are.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template

from obrolan.notifications.rules import Language


@dataclass(frozen=True, slots=True)
class MailText:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class MailTemplate:
    essential: bool
    texts: dict[Language, tuple[str, str]]  # language: (subject, body paragraphs)


_HTML = Template(
    '<!doctype html><html lang="$lang"><body style="font-family:sans-serif">'
    "$paragraphs</body></html>"
)

MAIL: dict[str, MailTemplate] = {
    "verify_email": MailTemplate(
        essential=True,
        texts={
            "en": (
                "Confirm your email address",
                "Your obrolan confirmation code is $code.\n\n"
                "It works for $minutes minutes. If you did not ask for it, ignore this mail:"
                " the address is not confirmed without the code.",
            ),
            "id": (
                "Konfirmasi alamat email Anda",
                "Kode konfirmasi obrolan Anda: $code.\n\n"
                "Kode ini berlaku $minutes menit. Jika Anda tidak memintanya, abaikan email"
                " ini: alamat tidak dikonfirmasi tanpa kode.",
            ),
        },
    ),
    "email_changed": MailTemplate(
        essential=True,
        texts={
            "en": (
                "Your email address was changed",
                "The email address of your obrolan account $username was changed; this"
                " address no longer belongs to it.\n\n"
                "If you did not do this, sign in, change your password and end your"
                " other sessions.",
            ),
            "id": (
                "Alamat email Anda telah diubah",
                "Alamat email akun obrolan $username telah diubah; alamat ini tidak lagi"
                " terhubung dengan akun tersebut.\n\n"
                "Jika bukan Anda yang mengubahnya, masuk, ganti kata sandi Anda dan akhiri"
                " sesi Anda yang lain.",
            ),
        },
    ),
    "new_device": MailTemplate(
        essential=True,
        texts={
            "en": (
                "A new device signed in to your account",
                "A new device ($device) signed in to your obrolan account $username at"
                " $at (UTC).\n\n"
                "If this was not you, change your password and end that session.",
            ),
            "id": (
                "Perangkat baru masuk ke akun Anda",
                "Perangkat baru ($device) masuk ke akun obrolan $username pada $at (UTC).\n\n"
                "Jika bukan Anda, ganti kata sandi Anda dan akhiri sesi tersebut.",
            ),
        },
    ),
    # R4: the erasure request, told at both ends. The account is closed at once, so the
    # cancel code is the person's way back without signing in.
    "erasure_received": MailTemplate(
        essential=True,
        texts={
            "en": (
                "Your account will be erased on $date",
                "We received the request to erase your obrolan account $username. The"
                " account is closed now, and everything in it will be erased on $date"
                " (UTC).\n\n"
                "Changed your mind? Until then, cancel the erasure with the code $code"
                " (Cancel erasure in the app, or POST /api/v1/privacy/erasure/cancel),"
                " or write to $operator. Cancelling opens the account again; sign in"
                " with your password.",
            ),
            "id": (
                "Akun Anda akan dihapus pada $date",
                "Kami menerima permintaan untuk menghapus akun obrolan $username. Akun"
                " ditutup sekarang, dan semua isinya akan dihapus pada $date (UTC).\n\n"
                "Berubah pikiran? Sampai saat itu, batalkan penghapusan dengan kode $code"
                " (Batalkan penghapusan di aplikasi, atau POST"
                " /api/v1/privacy/erasure/cancel), atau hubungi $operator. Pembatalan"
                " membuka kembali akun; masuk dengan kata sandi Anda.",
            ),
        },
    ),
    "erasure_done": MailTemplate(
        essential=True,
        texts={
            "en": (
                "Your account was erased",
                "Your obrolan account $username was erased: your profile, your messages'"
                " text and everything else that was yours are gone, and the key they were"
                " encrypted with is destroyed, so copies in backups cannot be read either."
                "\n\nThis is the last mail you get from us.",
            ),
            "id": (
                "Akun Anda telah dihapus",
                "Akun obrolan $username telah dihapus: profil, isi pesan, dan semua data"
                " Anda lainnya sudah tidak ada, dan kunci enkripsinya dimusnahkan, sehingga"
                " salinan di cadangan pun tidak dapat dibaca.\n\n"
                "Ini adalah email terakhir dari kami.",
            ),
        },
    ),
}

SMS: dict[str, dict[Language, str]] = {
    "verify_phone": {
        "en": "obrolan code: $code (valid $minutes minutes). Do not share it.",
        "id": "Kode obrolan: $code (berlaku $minutes menit). Jangan berikan kepada siapa pun.",
    },
    "phone_changed": {
        "en": "The phone number of your obrolan account $username was changed; this"
        " number no longer belongs to it.",
        "id": "Nomor telepon akun obrolan $username telah diubah; nomor ini tidak lagi"
        " terhubung dengan akun tersebut.",
    },
}


def render_mail(name: str, language: Language, params: dict[str, str]) -> MailText:
    """Subject, plain text and HTML of mail template `name`; KeyError for an unknown name."""
    subject, body = MAIL[name].texts[language]
    text = Template(body).substitute(params)
    escaped = {k: html.escape(v) for k, v in params.items()}
    paragraphs = "".join(
        f"<p>{paragraph}</p>" for paragraph in Template(body).substitute(escaped).split("\n\n")
    )
    return MailText(subject, text + "\n", _HTML.substitute(lang=language, paragraphs=paragraphs))


def render_sms(name: str, language: Language, params: dict[str, str]) -> str:
    return Template(SMS[name][language]).substitute(params)
