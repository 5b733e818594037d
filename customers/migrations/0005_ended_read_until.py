import datetime

from django.db import migrations
from django.db.models import F

# As if they had ended under the new rule (PORTAL_ENDED_READ_DAYS, 90 by default): a collaboration
# ended before the customer kept read access gets it until 90 days after its end, and the nightly
# purge deletes its files then (at once, for those that ended longer ago), instead of leaving them
# stored and counted with nobody able to reach them. An invitation never answered gets none (its
# customer never read anything), as collaboration_end decides today.
READ_DAYS = 90


def give_read_period(apps, schema_editor):
    Collaboration = apps.get_model("customers", "Collaboration")
    Collaboration.objects.filter(
        status="ended",
        ended_at__isnull=False,
        read_until__isnull=True,
        files_deleted_at__isnull=True,
    ).exclude(invited_email__gt="", responded_at__isnull=True).update(read_until=F("ended_at") + datetime.timedelta(days=READ_DAYS))


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_collaboration_ending")]

    operations = [migrations.RunPython(give_read_period, migrations.RunPython.noop)]
