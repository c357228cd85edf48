"""The all-zero trace id that unsampled (dummy) entities carry."""


class NoOpTraceId:
    VERSION = "1"
    DELIMITER = "-"

    def __init__(self) -> None:
        self.start_time = "00000000"
        self.__number = "000000000000000000000000"

    def to_id(self) -> str:
        return "%s%s%s%s%s" % (self.VERSION, self.DELIMITER, self.start_time, self.DELIMITER, self.__number)
