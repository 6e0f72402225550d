"""Two stores for target tests: 静安店 (clerks clerk1 and clerk2, manager1) and 徐汇店 (clerk9),
head office, a product and a customer of clerk1's; business time frozen on 2026-11-18 in Shanghai."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from models import Role
from tests import factories as f


@pytest.fixture
def brand(db, clock):
    clock.freeze("2026-11-18 10:30")  # 13 days of November left, today included
    with db.transaction() as s:
        jingan = f.store(s, name="静安店", external_id="S-JA")
        xuhui = f.store(s, name="徐汇店", external_id="S-XH")
        clerk1 = f.staff(s, Role.clerk, jingan, username="clerk1", display_name="小王")
        clerk2 = f.staff(s, Role.clerk, jingan, username="clerk2", display_name="小李", external_id="E-002")
        clerk9 = f.staff(s, Role.clerk, xuhui, username="clerk9", display_name="小赵")
        manager = f.staff(s, Role.manager, jingan, username="manager1", display_name="赵店长")
        f.staff(s, Role.manager, xuhui, username="manager2", display_name="钱店长")
        f.staff(s, Role.hq, None, username="hq", display_name="总部运营")
        f.product(s, sku="CREAM", category="skincare", price_fen=26800)
        customer = f.customer(s, name="张女士", external_id="CU-1")
        f.follow(s, customer, clerk1, since=clock.local("2026-09-01 10:00"))  # theirs all autumn
        return SimpleNamespace(jingan=jingan.id, xuhui=xuhui.id, clerk1=clerk1.id, clerk2=clerk2.id,
                               clerk9=clerk9.id, manager=manager.id)
