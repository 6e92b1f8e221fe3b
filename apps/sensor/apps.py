from django.apps import AppConfig


class SensorConfig(AppConfig):
    name = "apps.sensor"
    label = "sensor"
    verbose_name = "Sensor"
