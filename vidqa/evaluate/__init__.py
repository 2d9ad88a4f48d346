"""vidqa.evaluate"""
