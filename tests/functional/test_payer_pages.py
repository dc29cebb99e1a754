"""The payer's pages: a note looked up by typing, and "my bills" behind a texted code."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlencode

from chalicelib.domain.codes import damm_digit
from tests.functional.support import NOTE, create_note, issued_bill

FORM = "application/x-www-form-urlencoded"
PHONE = "13812345678"
OTHER_PHONE = "13987654321"


def csrf_pair(client, client_ip: str = "198.51.100.7") -> tuple[str, str]:
    """The CSRF cookie ("csrf_token=…") a my-bills page sets, and the token its forms carry."""
    r = client.http.get("/my-bills", headers={"X-Forwarded-For": client_ip})
    cookie = next(c for c in set_cookies(r) if c.startswith("csrf_token="))
    field = re.search(r'name="csrf_token" value="([^"]+)"', page(r))
    assert field, page(r)
    return cookie.split(";")[0], field.group(1)


def set_cookies(response) -> list[str]:
    value = response.headers.get("Set-Cookie") or []
    return value if isinstance(value, list) else [value]


def post(client, path: str, fields: dict[str, str], client_ip: str = "198.51.100.7",
         cookie: str | None = None, csrf: bool = True):
    """A form post; to a my-bills form it carries a valid CSRF token unless ``csrf`` is False."""
    headers = {"Content-Type": FORM, "X-Forwarded-For": client_ip}
    cookies = [cookie] if cookie else []
    if csrf and path.startswith("/my-bills/") and "csrf_token" not in fields:
        csrf_cookie, token = csrf_pair(client, client_ip)
        cookies.append(csrf_cookie)
        fields = {**fields, "csrf_token": token}
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    return client.http.post(path, headers=headers, body=urlencode(fields))


def page(response) -> str:
    return response.body.decode("utf-8")


def texts_to(phone: str) -> list[str]:
    from moto.sns.models import sns_backends

    messages = sns_backends["123456789012"]["cn-north-1"].sms_messages.values()
    return [text for number, text in messages if number == "+86" + phone]


def note_for(phone: str, name: str = "张三") -> dict:
    return {**NOTE, "payer": {"name": name, "type": "individual", "phone": phone}}


def typo(code: str) -> str:
    """The code with one digit mistyped (the check digit is left as it was)."""
    wrong = str((int(code[10]) + 3) % 10)
    return code[:10] + wrong + code[11:]


# ---- lookup by typing ---------------------------------------------------------------------

def test_a_mistyped_or_swapped_payment_code_gets_the_check_digit_message(world, client):
    code = create_note(world, client)["payment_code"]
    swapped = next(code[:i] + code[i + 1] + code[i] + code[i + 2:] for i in range(8, 18)
                   if code[i] != code[i + 1])
    for wrong in (typo(code), swapped):
        r = post(client, "/lookup", {"payment_code": wrong, "payer_name": "张三"})
        assert r.status_code == 400
        assert "缴款码校验不通过，请检查是否有输错或颠倒的数字" in page(r)
        assert 'aria-invalid="true"' in page(r) and "13812345678" not in page(r)
    r = post(client, "/lookup", {"payment_code": code[:19], "payer_name": "张三"})
    assert r.status_code == 400 and "缴款码应为20位数字，您输入了19位" in page(r)


def test_the_right_code_and_name_show_the_note_with_the_phone_masked(world, client):
    code = create_note(world, client)["payment_code"]
    printed = f"{code[:6]} {code[6:8]} {code[8:14]} {code[14:]}"  # as the notice groups it
    r = post(client, "/lookup", {"payment_code": printed, "payer_name": " 张 三 "})
    assert r.status_code == 200, page(r)
    html = page(r)
    for shown in ("张三", "138****5678", "不动产登记费（住宅）", "不动产权证书工本费", "¥100.00",
                  "待缴款", f'href="/pay/{code}"'):
        assert shown in html, shown
    assert "13812345678" not in html and "张*" not in html


def test_an_issued_note_links_to_its_bill(world, client):
    code, bill = issued_bill(world, client)
    r = post(client, "/lookup", {"payment_code": code, "payer_name": "张三"})
    assert r.status_code == 200 and "已开票" in page(r)
    assert f"/bills/{bill['bill_code']}/{bill['bill_number']}?check_code={bill['check_code']}" \
        in page(r)


def test_a_wrong_name_is_a_neutral_not_found_and_guessing_is_stopped(world, client):
    code = create_note(world, client)["payment_code"]
    body = code[:18] + ("1" if code[18] == "0" else "0")
    unknown = body + str(damm_digit(body))  # well formed, never issued
    wrong_name = post(client, "/lookup", {"payment_code": code, "payer_name": "李四"})
    no_note = post(client, "/lookup", {"payment_code": unknown, "payer_name": "张三"})
    assert wrong_name.status_code == no_note.status_code == 404
    neutral = "未找到相符的缴款书，请核对缴款码和缴款人后重试"
    assert neutral in page(wrong_name) and neutral in page(no_note)
    assert "张三" not in page(wrong_name) and "13812345678" not in page(wrong_name)

    guesses = ("王五", "赵六", "孙七", "周八", "吴九", "郑十", "冯一", "陈二", "褚四")
    for name in guesses:  # with the first, ten wrong names: the day's allowance for the note
        assert post(client, "/lookup", {"payment_code": code, "payer_name": name}
                    ).status_code == 404
    limited = post(client, "/lookup", {"payment_code": code, "payer_name": "蒋三"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "该缴款码今日查询次数过多" in page(limited)
    # once limited, the right name is refused too: a guess cannot be confirmed
    right = post(client, "/lookup", {"payment_code": code, "payer_name": "张三"})
    assert right.status_code == 429 and "13812345678" not in page(right)
    world.clock.now += timedelta(days=1)
    assert post(client, "/lookup", {"payment_code": code, "payer_name": "张三"}).status_code == 200


def test_one_client_is_stopped_after_thirty_lookups_an_hour(world, client):
    code = create_note(world, client)["payment_code"]
    unknown = [code[:14] + f"{n:05d}" for n in range(30)]
    unknown = [c + str(damm_digit(c)) for c in unknown if c + str(damm_digit(c)) != code][:30]
    for other in unknown:
        assert post(client, "/lookup", {"payment_code": other, "payer_name": "张三"},
                    client_ip="203.0.113.9").status_code == 404
    r = post(client, "/lookup", {"payment_code": code, "payer_name": "张三"},
             client_ip="203.0.113.9")
    assert r.status_code == 429 and "查询过于频繁" in page(r)
    assert post(client, "/lookup", {"payment_code": code, "payer_name": "张三"},
                client_ip="203.0.113.10").status_code == 200


# ---- my bills -----------------------------------------------------------------------------

def request_code(client, phone: str, client_ip: str = "198.51.100.7"):
    return post(client, "/my-bills/code", {"phone": phone}, client_ip)


def last_code(phone: str) -> str:
    found = re.search(r"验证码为(\d{6})", texts_to(phone)[-1])
    assert found, texts_to(phone)
    return found.group(1)


def log_in(client, phone: str) -> str:
    """Request a code, read it from the text, verify it; the session cookie."""
    assert request_code(client, phone).status_code == 200
    r = post(client, "/my-bills/verify", {"phone": phone, "code": last_code(phone)})
    assert r.status_code == 303 and r.headers["Location"] == "/my-bills", page(r)
    return r.headers["Set-Cookie"].split(";")[0]


def bill_numbers_in(html: str) -> list[str]:
    return re.findall(r"号码 <span class=\"code\">(\d{10})</span>", html)


def test_a_texted_code_shows_every_bill_of_that_number_newest_first(world, client):
    _, first = issued_bill(world, client, note_for(PHONE))
    world.clock.now += timedelta(minutes=3)
    _, other = issued_bill(world, client, note_for(OTHER_PHONE, "李四"))
    world.clock.now += timedelta(minutes=3)
    _, second = issued_bill(world, client, note_for(PHONE))

    r = request_code(client, PHONE)
    assert r.status_code == 200 and "验证码已发送至 <strong>138****5678</strong>" in page(r)
    text = texts_to(PHONE)[-1]
    assert text.startswith("【财政电子票据】您的验证码为") and "5分钟内有效" in text
    verified = post(client, "/my-bills/verify", {"phone": PHONE, "code": last_code(PHONE)})
    assert verified.status_code == 303
    cookie_header = verified.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Lax", "Max-Age=900", "Path=/my-bills"):
        assert attribute in cookie_header
    cookie = cookie_header.split(";")[0]
    assert PHONE not in cookie

    r = client.http.get("/my-bills", headers={"Cookie": cookie})
    assert r.status_code == 200
    html = page(r)
    assert bill_numbers_in(html) == [second["bill_number"], first["bill_number"]]
    assert f"check_code={second['check_code']}" in html and "共2张" in html
    assert other["bill_number"] not in bill_numbers_in(html)
    assert other["check_code"] not in html and "李四" not in html

    other_cookie = log_in(client, OTHER_PHONE)
    theirs = page(client.http.get("/my-bills", headers={"Cookie": other_cookie}))
    assert bill_numbers_in(theirs) == [other["bill_number"]]


def test_a_red_bill_is_listed_with_the_reversed_original(world, client):
    _, bill = issued_bill(world, client, note_for(PHONE))
    world.clock.now += timedelta(minutes=1)
    r = client.http.post(f"/v1/bills/{bill['bill_code']}/{bill['bill_number']}/reversal",
                         headers=world.auth(), body='{"reason": "缴款人申请退费"}')
    assert r.status_code == 201
    red = json.loads(r.body)
    world.drain()
    html = page(client.http.get("/my-bills", headers={"Cookie": log_in(client, PHONE)}))
    assert bill_numbers_in(html) == [red["bill_number"], bill["bill_number"]]
    assert "红字票据" in html and "-¥100.00" in html and "已冲红" in html


def test_five_wrong_codes_lock_the_code(world, client):
    assert request_code(client, PHONE).status_code == 200
    code = last_code(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        r = post(client, "/my-bills/verify", {"phone": PHONE, "code": wrong})
        assert r.status_code == 400 and f"验证码不正确，还可再试{left}次" in page(r)
    r = post(client, "/my-bills/verify", {"phone": PHONE, "code": wrong})
    assert r.status_code == 400 and "错误次数过多，请重新获取验证码" in page(r)
    r = post(client, "/my-bills/verify", {"phone": PHONE, "code": code})
    assert r.status_code == 429 and "Set-Cookie" not in r.headers
    assert "错误次数过多" in page(r)
    world.clock.now += timedelta(seconds=61)  # a new code starts again with five attempts
    assert log_in(client, PHONE)


def test_a_code_expires_after_five_minutes_and_is_spent_once(world, client):
    assert request_code(client, PHONE).status_code == 200
    code = last_code(PHONE)
    world.clock.now += timedelta(minutes=5, seconds=1)
    r = post(client, "/my-bills/verify", {"phone": PHONE, "code": code})
    assert r.status_code == 400 and "验证码已过期，请重新获取" in page(r)

    assert request_code(client, PHONE).status_code == 200
    code = last_code(PHONE)
    world.clock.now += timedelta(minutes=4, seconds=59)
    assert post(client, "/my-bills/verify", {"phone": PHONE, "code": code}).status_code == 303
    again = post(client, "/my-bills/verify", {"phone": PHONE, "code": code})
    assert again.status_code == 400 and "Set-Cookie" not in again.headers


def test_codes_are_limited_per_number_and_per_client(world, client):
    # windows are the China hour and day: start where six minutes cannot cross either
    world.clock.now = world.clock.now.replace(hour=2, minute=1, second=0, microsecond=0)
    assert request_code(client, PHONE).status_code == 200
    soon = request_code(client, PHONE)
    assert soon.status_code == 429 and "秒后再重新获取" in page(soon)
    assert len(texts_to(PHONE)) == 1
    for _ in range(4):
        world.clock.now += timedelta(seconds=61)
        assert request_code(client, PHONE).status_code == 200
    world.clock.now += timedelta(seconds=61)
    sixth = request_code(client, PHONE)
    assert sixth.status_code == 429 and "该手机号今日获取验证码次数过多" in page(sixth)
    assert len(texts_to(PHONE)) == 5

    numbers = [f"1391234{n:04d}" for n in range(20)]
    for number in numbers[:13]:  # this client has asked 7 times already (20 an hour)
        assert request_code(client, number).status_code == 200
    r = request_code(client, numbers[13])
    assert r.status_code == 429 and "获取验证码过于频繁" in page(r)
    assert request_code(client, numbers[13], client_ip="198.51.100.8").status_code == 200


def test_a_bad_number_is_refused_before_any_text(world, client):
    for bad in ("1381234567", "23812345678", "14012345678", "abc"):
        r = request_code(client, bad)
        assert r.status_code == 400 and "请输入正确的11位手机号码" in page(r)
    from moto.sns.models import sns_backends

    assert not sns_backends["123456789012"]["cn-north-1"].sms_messages


def test_the_session_lasts_fifteen_minutes_and_cannot_be_forged(world, client):
    issued_bill(world, client, note_for(PHONE))
    cookie = log_in(client, PHONE)
    name, _, token = cookie.partition("=")
    payload, _, mac = token.partition(".")
    forged = f"{name}={payload}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"
    r = client.http.get("/my-bills", headers={"Cookie": forged})
    assert "登录已过期" in page(r) and "Max-Age=0" in " ".join(set_cookies(r))
    world.clock.now += timedelta(minutes=14)
    assert "共1张" in page(client.http.get("/my-bills", headers={"Cookie": cookie}))
    world.clock.now += timedelta(minutes=1, seconds=1)
    r = client.http.get("/my-bills", headers={"Cookie": cookie})
    assert "登录已过期" in page(r) and 'name="phone"' in page(r)
    out = post(client, "/my-bills/logout", {}, cookie=cookie)
    assert out.status_code == 303 and "Max-Age=0" in out.headers["Set-Cookie"]


def test_the_pages_are_small_chinese_and_need_no_script(world, client):
    issued_bill(world, client, note_for(PHONE))
    code = create_note(world, client)["payment_code"]
    pages = [client.http.get("/lookup"), client.http.get("/my-bills"),
             post(client, "/lookup", {"payment_code": code, "payer_name": "张三"}),
             request_code(client, PHONE)]
    cookie = log_in(client, OTHER_PHONE)
    pages.append(client.http.get("/my-bills", headers={"Cookie": cookie}))
    for r in pages:
        html = page(r)
        assert r.status_code == 200
        assert len(r.body) < 100_000
        assert '<html lang="zh-CN">' in html and "<script" not in html
        assert not re.search(r'(src|href)="(https?:)?//', html), "nothing from another host"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"


# ---- CSRF on the my-bills forms -----------------------------------------------------------

def test_every_my_bills_form_carries_the_token_its_strict_cookie_holds(world, client):
    r = client.http.get("/my-bills", headers={"X-Forwarded-For": "198.51.100.7"})
    cookie = next(c for c in set_cookies(r) if c.startswith("csrf_token="))
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/my-bills"):
        assert attribute in cookie
    token = cookie.split(";")[0].partition("=")[2]
    assert page(r).count(f'name="csrf_token" value="{token}"') == 1  # the one form: phone
    step = post(client, "/my-bills/code", {"phone": PHONE})
    assert page(step).count('name="csrf_token"') == 2  # verify, and ask again


def test_a_sign_in_form_posted_without_its_token_is_refused_and_sends_nothing(world, client):
    r = post(client, "/my-bills/code", {"phone": PHONE}, csrf=False)
    assert r.status_code == 403 and r.headers["Content-Type"].startswith("text/html")
    assert "页面已失效" in page(r) and not texts_to(PHONE)
    cookie, token = csrf_pair(client)
    other_cookie, _ = csrf_pair(client)
    for fields, cookies in (({"phone": PHONE, "csrf_token": token}, None),  # no cookie
                            ({"phone": PHONE, "csrf_token": token}, other_cookie),  # another's
                            ({"phone": PHONE, "csrf_token": "x.y"}, "csrf_token=x.y"),  # forged
                            ({"phone": PHONE}, cookie)):  # no field
        r = post(client, "/my-bills/code", fields, cookie=cookies, csrf=False)
        assert r.status_code == 403, fields
    assert not texts_to(PHONE)
    assert post(client, "/my-bills/code", {"phone": PHONE, "csrf_token": token},
                cookie=cookie, csrf=False).status_code == 200


def test_verifying_a_code_without_the_token_opens_no_session_and_spends_no_attempt(world,
                                                                                 client):
    assert request_code(client, PHONE).status_code == 200
    code = last_code(PHONE)
    for _ in range(6):
        r = post(client, "/my-bills/verify", {"phone": PHONE, "code": "000000"}, csrf=False)
        assert r.status_code == 403 and "payer_session" not in " ".join(set_cookies(r))
    r = post(client, "/my-bills/verify", {"phone": PHONE, "code": code})
    assert r.status_code == 303


def test_signing_out_needs_the_token(world, client):
    session = log_in(client, PHONE)
    r = post(client, "/my-bills/logout", {}, cookie=session, csrf=False)
    assert r.status_code == 403 and "payer_session" not in " ".join(set_cookies(r))
    assert "退出" in page(client.http.get("/my-bills", headers={"Cookie": session}))
    out = post(client, "/my-bills/logout", {}, cookie=session)
    assert out.status_code == 303 and "Max-Age=0" in " ".join(set_cookies(out))
