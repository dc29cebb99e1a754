"""The finance console's bill-template page (票据模板): each bill kind, the template its new
bills are drawn from (title, payer label, extra fields, columns, remarks) and, for a finance
admin, a form to choose another among those made for the kind. The same use cases as
``GET/PUT /v1/admin/bill-kinds`` (``services/bill_templates.py``): the same checks and the same
audit row; an auditor sees the page without forms and a post from them is the 403 page.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, page
from chalicelib.api.errors import status_of
from chalicelib.api.finance_units import credential
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import DomainError
from chalicelib.domain.people import Role, Session
from chalicelib.services import bill_templates
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

BILL_KINDS_PAGE = "/console/finance/bill-kinds"
FINANCE = (Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)
TYPES = {"text": "文本", "code": "编码", "date": "日期", "fen": "金额", "choice": "选项"}


def _page(me: Session, status: int = 200, **context) -> Response:
    return page(bp, "console/finance_bill_kinds.html", status, me=me, here=BILL_KINDS_PAGE,
                heading="票据模板", kinds=bill_templates.bill_kinds_view(deps())["bill_kinds"],
                types=TYPES, can_change=me.role is Role.FINANCE_ADMIN, **context)


@bp.route(BILL_KINDS_PAGE, methods=["GET"])
@console_view(bp, *FINANCE)
def bill_kinds(me: Session, actor: Actor) -> Response:
    return _page(me)


@bp.route(BILL_KINDS_PAGE + "/{kind_code}", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def choose_template(me: Session, actor: Actor, kind_code: str) -> Response:
    form = form_fields(bp, "template_id")
    try:
        chosen = bill_templates.choose_template(deps(), credential(actor), kind_code[:8],
                                                {"template_id": form["template_id"]})
    except DomainError as exc:
        return _page(me, status_of(exc), error=exc.message)
    return _page(me, done=f"票据种类 {kind_code} 今后开具的票据使用模板"
                          f"「{chosen['template']['name']}」。")
