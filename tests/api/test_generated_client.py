"""A client generated from the live schema runs the whole flow, with no hand patching.

openapi-python-client reads /api/schema/, writes a Python package, and the test
drives a live server with it: token, assets, a portfolio with a target,
transactions, holdings, allocation, both rebalance modes, history,
performance, delete. Before issue 14, four of its modules crashed on import
(every body was JSON, form and multipart at once) and a portfolio could not be
created.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from tests.factories import AssetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "capsite_generated_client"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> ModuleType:
    if not shutil.which("openapi-python-client", path=_path()):
        pytest.fail("openapi-python-client is not installed (make install)")
    root = tmp_path_factory.mktemp("client")
    schema = root / "schema.json"
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--format",
            "openapi-json",
            "--file",
            str(schema),
        ],
        cwd=Path(__file__).resolve().parents[2],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [
            "openapi-python-client",
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
        ],
        env={**os.environ, "PATH": _path()},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))


def _path() -> str:
    # The venv's scripts (openapi-python-client and the ruff it formats with) first.
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_generated_module_imports_and_every_enum_member_has_a_name(generated):
    package = Path(generated.__file__).parent
    modules = sorted(
        ".".join(path.relative_to(package).with_suffix("").parts)
        for path in [*package.glob("api/*/*.py"), *package.glob("models/*.py")]
        if path.stem != "__init__"
    )

    for name in modules:
        _module(name)  # raises on a broken module

    operations = [m for m in modules if m.startswith("api.")]
    assert len(operations) >= 40
    assert {m.split(".")[1] for m in operations} >= {"assets", "market", "portfolios"}
    # Descending sorts read PRICE_DESC, not VALUE_3 (x-enum-varnames).
    ordering = _module("models.assets_list_ordering").AssetsListOrdering
    assert ordering.PRICE_DESC.value == "-price"
    unnamed = [
        p.name for p in package.glob("models/*.py") if "VALUE_0" in p.read_text()
    ]
    assert unnamed == []


def test_the_full_flow_runs_through_the_generated_client(generated, live_server):
    UserFactory(username="gen")
    for slug, price, supply in (
        ("bitcoin", "76134", "19800000"),
        ("chainlink", "9.15", "600000000"),
    ):
        AssetFactory(
            slug=slug,
            name=slug.title(),
            price=Decimal(price),
            circulating_supply=Decimal(supply),
            volume_24h=Decimal("500000000"),
        )
    models = _module("models")
    api = "api."
    client = generated.Client(base_url=live_server.url)

    token = _module(api + "auth.auth_token_create").sync(
        client=client, body=models.AuthTokenRequest(username="gen", password=PASSWORD)
    )
    auth = generated.AuthenticatedClient(
        base_url=live_server.url, token=token.token, prefix="Token"
    )
    assets = _module(api + "assets.assets_list").sync(client=client)
    portfolio = _module(api + "portfolios.portfolios_create").sync(
        client=auth,
        body=models.PortfolioRequest(
            name="Long term",
            target=models.TargetRequest(large="60", mid="25", small="10", stable="5"),
            tolerance="5",
        ),
    )
    for slug, quantity, price in (
        ("bitcoin", "0.1", "76134"),
        ("chainlink", "300", "9.15"),
    ):
        recorded = _module(api + "portfolios.portfolios_transactions_create").sync(
            portfolio.id,
            client=auth,
            body=models.TransactionRequest(
                asset=slug,
                kind=models.TransactionKindEnum.BUY,
                quantity=quantity,
                price=price,
                executed_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
            ),
        )
        assert isinstance(recorded, models.Transaction), recorded
    holdings = _module(api + "portfolios.portfolios_holdings_list").sync(
        portfolio.id, client=auth
    )
    allocation = _module(api + "portfolios.portfolios_allocation_retrieve").sync(
        portfolio.id, client=auth
    )
    rebalance = _module(api + "portfolios.portfolios_rebalance_retrieve")
    full = rebalance.sync(portfolio.id, client=auth)
    buy_only = rebalance.sync(
        portfolio.id,
        client=auth,
        mode=rebalance.PortfoliosRebalanceRetrieveMode.BUY_ONLY,
        cash="1000",
    )
    history = _module(api + "portfolios.portfolios_history_list").sync(
        portfolio.id, client=auth
    )
    performance = _module(api + "portfolios.portfolios_performance_retrieve").sync(
        portfolio.id, client=auth
    )
    deleted = _module(api + "portfolios.portfolios_destroy").sync_detailed(
        portfolio.id, client=auth
    )
    gone = _module(api + "portfolios.portfolios_retrieve").sync_detailed(
        portfolio.id, client=auth
    )

    assert {a.slug for a in assets.results} == {"bitcoin", "chainlink"}
    assert portfolio.target.large == "60"
    assert [h.asset for h in holdings.results] == ["bitcoin", "chainlink"]
    assert isinstance(allocation, models.Allocation)
    assert isinstance(full, models.Rebalance) and isinstance(buy_only, models.Rebalance)
    assert sum(Decimal(b.amount) for b in buy_only.buckets) == Decimal("1000")
    assert isinstance(history, models.PaginatedHistoryPointList)
    assert isinstance(performance, models.Performance)
    assert deleted.status_code == 204
    assert gone.status_code == 404
