import json


def test_smoke(world, client):
    body = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
            "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）", "quantity": 1,
                       "standard_fen": 8000, "amount_fen": 8000}], "total_fen": 8000}
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(body))
    print(r.status_code, r.body)
    assert r.status_code == 201
