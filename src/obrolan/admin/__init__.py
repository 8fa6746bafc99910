"""Site administration: what accounts with `is_admin` may do to other accounts and rooms."""

from obrolan.admin.service import OPERATOR, AdminService

__all__ = ["OPERATOR", "AdminService"]
