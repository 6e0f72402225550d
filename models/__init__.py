"""The domain model: typed SQLAlchemy 2.0 tables, one module per aggregate.

Importing this package registers every table on ``Base.metadata`` (Alembic and tests rely on it).
"""
from models.base import Base, utcnow
from models.org import ApiToken, Role, Setting, Staff, Store
from models.customers import (
    ChannelIdentity, Customer, CustomerOptOut, CustomerTag, FollowerBinding, Stage, Tag, TagSource,
)
from models.commerce import ORDER_STATUSES, Order, OrderItem, OrderStatus, Product, can_transition
from models.messaging import (
    ChannelAccount, ConsoleEvent, Conversation, Direction, InboundReceipt, Message, MessageStatus,
    OutboxEntry, OutboxState, ServiceWait,
)
from models.care import AutomationRun, Campaign, CampaignTarget, CareTask, CareTaskTarget, Segment
from models.commission import Attribution, CommissionEntry, CommissionPeriod, CommissionRule
from models.ranking import CustomerScore, ModelVersion, SuggestionOutcome
from models.drafting import Draft, DraftBatch, DraftOutcome, DraftSource
from models.console import QuickReply  # noqa: F401  (console area)
from models.links import LinkEvent, PersonalLink
from models.coupons import Coupon, CouponKind, CouponSource, CouponState, CouponTemplate
from models.audit import AuditEntry
from models.targets import SalesTarget

__all__ = [
    "AutomationRun", "Base", "utcnow", "ApiToken", "Role", "Setting", "Staff", "Store", "ChannelIdentity",
    "Customer", "CustomerOptOut", "CustomerTag", "FollowerBinding", "Stage", "Tag", "TagSource",
    "ORDER_STATUSES", "Order", "OrderItem", "OrderStatus", "Product", "can_transition",
    "ChannelAccount", "ConsoleEvent", "Conversation", "Direction", "Message", "MessageStatus",
    "OutboxEntry", "OutboxState", "ServiceWait", "InboundReceipt", "Campaign", "CampaignTarget", "CareTask", "CareTaskTarget",
    "Segment", "Attribution", "CommissionEntry", "CommissionPeriod", "CommissionRule",
    "CustomerScore", "ModelVersion", "SuggestionOutcome", "LinkEvent", "PersonalLink",
    "Coupon", "CouponKind", "CouponSource", "CouponState", "CouponTemplate", "AuditEntry", "SalesTarget",
]
